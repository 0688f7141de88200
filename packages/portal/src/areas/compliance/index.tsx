/**
 * The compliance area of the portal (see `spec/portal.md`).
 *
 * @module
 */
import type { Area } from '../area.js';

export const complianceArea: Area = {
  id: 'compliance',
  resources: () => [],
  routes: () => [],
  data: {},
  menu: [],
  messages: { en: {}, de: {} },
};
