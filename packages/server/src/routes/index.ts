/**
 * Every route module, in registration order.
 *
 * @module
 */
import { adminApiRoutes } from '../admin/api/routes.js';
import { adminAuthRoutes } from '../admin/routes.js';
import type { RouteModule } from '../context.js';
import { scimRoutes } from '../scim/routes.js';
import { blobRoutes } from './blobs.js';
import { broadcastRoutes } from './broadcasts.js';
import { certificateRoutes } from './certificates.js';
import { complianceRoutes } from './compliance.js';
import { deliveryRoutes } from './delivery.js';
import { deviceListRoutes } from './device-lists.js';
import { deviceRoutes } from './devices.js';
import { enrolmentRoutes } from './enrolment.js';
import { healthRoutes } from './health.js';
import { keyRoutes } from './keys.js';
import { policyRoutes } from './policy.js';
import { wipeRoutes } from './wipe.js';
import { wsRoutes } from './ws.js';

/** The route modules `createServer` registers. */
export const ROUTES: readonly RouteModule[] = [
  healthRoutes,
  enrolmentRoutes,
  certificateRoutes,
  keyRoutes,
  deviceRoutes,
  deviceListRoutes,
  policyRoutes,
  complianceRoutes,
  wipeRoutes,
  broadcastRoutes,
  deliveryRoutes,
  wsRoutes,
  blobRoutes,
  adminAuthRoutes,
  adminApiRoutes,
  scimRoutes,
];
