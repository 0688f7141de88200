/**
 * The organisation plane on the server (`spec/organisation.md` §10): the tenant's organisation
 * root, the publication of signed organisation objects with their effects, and the admin-API
 * operations that reach them.
 *
 * @module
 */
export {
  nextOrganisationSequence,
  type PublishedOrganisationObject,
  type PublishOrganisationObjectOptions,
  publishOrganisationObject,
} from './objects.js';
export { ORGANISATION_OPERATIONS } from './operations.js';
export {
  getOrganisationRoot,
  requireOrganisationRoot,
  type SetOrganisationRootInput,
  setOrganisationRoot,
} from './root.js';
