/**
 * The absolute path of the built portal (the directory holding `index.html`).
 *
 * @example
 * ```ts
 * import { portalRoot } from '@cloister/portal';
 * const root: string = portalRoot(); // …/node_modules/@cloister/portal/dist/
 * ```
 */
export declare function portalRoot(): string;
