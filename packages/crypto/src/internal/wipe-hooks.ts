/**
 * Things derived from secret byte arrays that must go when those arrays are wiped, such as the
 * native provider's imported private KeyObjects. `wipe()` runs every hook on every array it
 * clears.
 */
const hooks: ((array: Uint8Array) => void)[] = [];

export function onWipe(hook: (array: Uint8Array) => void): void {
  hooks.push(hook);
}

export function runWipeHooks(array: Uint8Array): void {
  for (const hook of hooks) hook(array);
}
