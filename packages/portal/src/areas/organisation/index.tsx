/**
 * The organisation area of the portal (see `spec/portal.md`).
 *
 * @module
 */
import type { Area } from '../area.js';

export const organisationArea: Area = {
  id: 'organisation',
  resources: () => [],
  routes: () => [],
  data: {},
  menu: [],
  messages: { en: {}, de: {} },
};
