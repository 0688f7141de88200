/**
 * React-admin's data provider composed from the areas' data handlers (`Area.data`) and the
 * shell's own (administrators): each call goes to the handler of its resource and method, given
 * the session's {@link PortalSession}; a method a resource does not support rejects with a
 * `UsageError`.
 *
 * @module
 */
import { UsageError } from '@cloister/crypto';
import type { DataProvider } from 'react-admin';
import type { AreaData } from '../areas/area.js';
import type { PortalSession } from '../session/portal-context.js';

const METHODS = [
  'getList',
  'getOne',
  'getMany',
  'getManyReference',
  'update',
  'updateMany',
  'create',
  'delete',
  'deleteMany',
] as const;

/**
 * The data provider over `handlers` (resource name → its methods). `session()` gives the current
 * session (it throws when nobody is signed in).
 */
export function composeDataProvider(
  handlers: readonly Record<string, AreaData>[],
  session: () => PortalSession,
): DataProvider {
  const byResource = new Map<string, AreaData>();
  for (const group of handlers) {
    for (const [resource, data] of Object.entries(group)) {
      if (byResource.has(resource)) throw new UsageError(`two areas serve the resource "${resource}"`);
      byResource.set(resource, data);
    }
  }
  const provider: Record<string, unknown> = {};
  for (const method of METHODS) {
    provider[method] = (resource: string, params: unknown) => {
      const handler = byResource.get(resource)?.[method] as
        | ((s: PortalSession, resource: string, params: unknown) => Promise<unknown>)
        | undefined;
      if (handler === undefined) {
        return Promise.reject(new UsageError(`the resource "${resource}" does not support ${method}`));
      }
      return handler(session(), resource, params);
    };
  }
  return provider as unknown as DataProvider;
}
