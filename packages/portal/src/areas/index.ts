/**
 * The areas the shell composes, in menu order.
 *
 * @module
 */
import type { Area } from './area.js';
import { complianceArea } from './compliance/index.js';
import { organisationArea } from './organisation/index.js';
import { usersArea } from './users/index.js';

export const AREAS: readonly Area[] = [usersArea, organisationArea, complianceArea];
