/**
 * SCIM discovery (RFC 7644 §4): `ServiceProviderConfig` (patch yes, bulk no, filter yes with
 * `maxResults` 200, changePassword no, sort no, etag yes, OAuth bearer tokens), `ResourceTypes`
 * (User with Cloister's extension, Group) and `Schemas` (the attributes this server serves).
 *
 * @module
 */
import { CLOISTER_USER_SCHEMA, GROUP_SCHEMA, SCIM_MAX_RESULTS, USER_SCHEMA } from './resources.js';

const attr = (name: string, type: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  type,
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...extra,
});

/**
 * The service provider configuration (`GET /scim/v2/ServiceProviderConfig`).
 *
 * @example
 * ```ts
 * console.log(serviceProviderConfig('https://chat.acme.example/scim/v2').filter.maxResults); // 200
 * ```
 */
export function serviceProviderConfig(baseUrl: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: SCIM_MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'A SCIM token (scim_…) made by a tenant administrator',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

/**
 * The resource types (`GET /scim/v2/ResourceTypes`).
 *
 * @example
 * ```ts
 * const [user, group] = resourceTypes('https://chat.acme.example/scim/v2');
 * ```
 */
export function resourceTypes(baseUrl: string) {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      schema: USER_SCHEMA,
      schemaExtensions: [{ schema: CLOISTER_USER_SCHEMA, required: false }],
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/User` },
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      schema: GROUP_SCHEMA,
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/Group` },
    },
  ];
}

/**
 * The schemas (`GET /scim/v2/Schemas`): the attributes served, with their mutability.
 *
 * @example
 * ```ts
 * const ids = schemas('https://chat.acme.example/scim/v2').map((s) => s.id);
 * ```
 */
export function schemas(baseUrl: string) {
  const meta = (id: string) => ({ resourceType: 'Schema', location: `${baseUrl}/Schemas/${id}` });
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
      id: USER_SCHEMA,
      name: 'User',
      description: 'A user of the tenant',
      attributes: [
        attr('userName', 'string', {
          required: true,
          uniqueness: 'server',
          description: 'The e-mail address when the tenant has domains, else the user id (immutable)',
        }),
        attr('externalId', 'string', {
          caseExact: true,
          description: 'The directory id (unique per source)',
        }),
        attr('name', 'complex', {
          subAttributes: [
            attr('formatted', 'string'),
            attr('givenName', 'string'),
            attr('familyName', 'string'),
          ],
        }),
        attr('displayName', 'string'),
        attr('emails', 'complex', {
          multiValued: true,
          subAttributes: [attr('value', 'string'), attr('primary', 'boolean'), attr('type', 'string')],
        }),
        attr('active', 'boolean', { description: "The directory's view of the user" }),
        attr('groups', 'complex', {
          multiValued: true,
          mutability: 'readOnly',
          subAttributes: [
            attr('value', 'string', { mutability: 'readOnly' }),
            attr('display', 'string', { mutability: 'readOnly' }),
          ],
        }),
      ],
      meta: meta(USER_SCHEMA),
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
      id: GROUP_SCHEMA,
      name: 'Group',
      description: 'A pool of the tenant',
      attributes: [
        attr('displayName', 'string', { required: true }),
        attr('externalId', 'string', { caseExact: true }),
        attr('members', 'complex', {
          multiValued: true,
          returned: 'request',
          subAttributes: [attr('value', 'string', { caseExact: true, mutability: 'immutable' })],
        }),
      ],
      meta: meta(GROUP_SCHEMA),
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
      id: CLOISTER_USER_SCHEMA,
      name: 'CloisterUser',
      description: "Cloister's view of a directory-managed user (read-only)",
      attributes: [
        attr('source', 'string', { mutability: 'readOnly', caseExact: true }),
        attr('directoryState', 'string', {
          mutability: 'readOnly',
          canonicalValues: ['active', 'disabled', 'left'],
        }),
        attr('blocked', 'boolean', { mutability: 'readOnly' }),
        attr('reenableRequested', 'boolean', { mutability: 'readOnly' }),
      ],
      meta: meta(CLOISTER_USER_SCHEMA),
    },
  ];
}
