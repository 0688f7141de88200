/**
 * `spec/admin-api.md` agrees with the code: its operation × role matrix is exactly the one
 * `ROLE_PERMISSIONS` and the operations' access produce (the test prints the table it expects when
 * they differ), and it documents every operation of `ADMIN_OPERATIONS`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AnyAdminOperation } from '../src/admin/api/operation.js';
import { ADMIN_OPERATIONS } from '../src/admin/api/operations.js';
import { ROLE_PERMISSIONS, roleAllows } from '../src/admin/permissions.js';
import type { Role } from '../src/store/index.js';

const SPEC = join(__dirname, '../../../spec/admin-api.md');
const ROLES: readonly Role[] = ['owner', 'admin', 'user-manager', 'auditor', 'integration'];

/** ✓ allowed, F allowed with a fresh second factor, k an integration key scoped for it, — 403, 401 an operator route. */
function cell(op: AnyAdminOperation, role: Role): string {
  if (op.access === 'operator') return '401';
  const { permission, freshFactor, allowKey } = op.access;
  if (role === 'integration') {
    if (allowKey === false) return '—';
    if (!roleAllows('integration', permission, ROLE_PERMISSIONS.integration)) return '—';
    return freshFactor === true ? '—' : 'k';
  }
  if (!roleAllows(role, permission)) return '—';
  return freshFactor === true ? 'F' : '✓';
}

/** The matrix as `spec/admin-api.md` must hold it. */
export function matrixTable(): string {
  const lines = [
    `| operation | method and path | permission | ${ROLES.join(' | ')} |`,
    `|---|---|---|${ROLES.map(() => '---|').join('')}`,
  ];
  for (const op of ADMIN_OPERATIONS) {
    const permission = op.access === 'operator' ? 'operator token' : `\`${op.access.permission}\``;
    lines.push(
      `| \`${op.id}\` | \`${op.method} ${op.path}\` | ${permission} | ${ROLES.map((r) => cell(op, r)).join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

describe('spec/admin-api.md', () => {
  const text = readFileSync(SPEC, 'utf8');

  it('holds the operation × role matrix the code enforces', () => {
    const start = text.indexOf('<!-- matrix:start -->');
    const end = text.indexOf('<!-- matrix:end -->');
    expect(start).toBeGreaterThan(0);
    const inSpec = text.slice(start + '<!-- matrix:start -->'.length, end).trim();
    expect(inSpec, `expected table:\n${matrixTable()}`).toBe(matrixTable());
  });

  it('documents every operation', () => {
    for (const op of ADMIN_OPERATIONS) expect(text, op.id).toContain(`\`${op.id}\``);
  });
});
