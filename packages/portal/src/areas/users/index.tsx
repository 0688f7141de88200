/**
 * The users area of the portal (see `spec/portal.md`).
 *
 * @module
 */
import type { Area } from '../area.js';

export const usersArea: Area = {
  id: 'users',
  resources: () => [],
  routes: () => [],
  data: {},
  menu: [],
  messages: { en: {}, de: {} },
};
