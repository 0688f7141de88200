/**
 * The list of every admin-API operation (its own module, so that the route module and the index
 * both import it without a cycle).
 *
 * @module
 */
import { ORGANISATION_OPERATIONS } from '../../organisation/operations.js';
import { ACTIVITY_OPERATIONS } from './activity.js';
import { ADMINISTRATOR_OPERATIONS } from './administrators.js';
import { ALLOWLIST_OPERATIONS } from './allowlist.js';
import { ARCHIVE_OPERATIONS } from './archive.js';
import { AUDIT_OPERATIONS } from './audit.js';
import { BROADCAST_OPERATIONS } from './broadcasts.js';
import { BULK_OPERATIONS } from './bulk.js';
import { COMPLIANCE_OPERATIONS } from './compliance.js';
import { DEVICE_ADMISSION_OPERATIONS } from './device-admissions.js';
import { DEVICE_OPERATIONS } from './devices.js';
import { DOMAIN_OPERATIONS } from './domains.js';
import { FILTER_OPERATIONS } from './filters.js';
import { INTEGRATION_OPERATIONS } from './integrations.js';
import { LEGAL_HOLD_OPERATIONS } from './legal-holds.js';
import type { AnyAdminOperation } from './operation.js';
import { POOL_OPERATIONS } from './pools.js';
import { SCIM_ADMIN_OPERATIONS } from './scim.js';
import { STATISTICS_OPERATIONS } from './statistics.js';
import { SUBJECT_OPERATIONS } from './subjects.js';
import { TENANT_OPERATIONS } from './tenants.js';
import { USAGE_OPERATIONS } from './usage.js';
import { USER_OPERATIONS } from './users.js';

/**
 * Every admin-API operation: tenants, domains, administrators, users, devices, activity, the
 * tenant's storage usage, the audit log, and the organisation plane's operations.
 *
 * @example
 * ```ts
 * const ids = ADMIN_OPERATIONS.map((op) => op.id);
 * ```
 */
export const ADMIN_OPERATIONS: readonly AnyAdminOperation[] = Object.freeze([
  ...TENANT_OPERATIONS,
  ...DOMAIN_OPERATIONS,
  ...ADMINISTRATOR_OPERATIONS,
  ...USER_OPERATIONS,
  ...DEVICE_OPERATIONS,
  ...DEVICE_ADMISSION_OPERATIONS,
  ...ACTIVITY_OPERATIONS,
  ...USAGE_OPERATIONS,
  ...AUDIT_OPERATIONS,
  ...STATISTICS_OPERATIONS,
  ...SUBJECT_OPERATIONS,
  ...ORGANISATION_OPERATIONS,
  ...INTEGRATION_OPERATIONS,
  ...POOL_OPERATIONS,
  ...ALLOWLIST_OPERATIONS,
  ...BROADCAST_OPERATIONS,
  ...FILTER_OPERATIONS,
  ...BULK_OPERATIONS,
  ...COMPLIANCE_OPERATIONS,
  ...SCIM_ADMIN_OPERATIONS,
  ...ARCHIVE_OPERATIONS,
  ...LEGAL_HOLD_OPERATIONS,
] as AnyAdminOperation[]);
