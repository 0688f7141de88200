/**
 * The administrators screen.
 *
 * @module
 */

import { Datagrid, List, TextField } from 'react-admin';
import type { AreaData } from '../areas/area.js';

/** The data handlers of the `administrators` resource. */
export const ADMINISTRATORS_DATA: AreaData = {
  async getList(session) {
    const page = await session.client.listAdministrators({ limit: 200 });
    return { data: page.items.map((a) => ({ ...a })), total: page.items.length };
  },
};

/** The administrators list. */
export function AdministratorsList() {
  return (
    <List pagination={false} exporter={false}>
      <Datagrid bulkActionButtons={false}>
        <TextField source="name" />
        <TextField source="email" />
        <TextField source="role" />
      </Datagrid>
    </List>
  );
}
