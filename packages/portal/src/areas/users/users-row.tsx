/**
 * A row of the users list: react-admin's `DatagridRow` puts the row checkbox's `aria-label` on
 * MUI's wrapper `<span>` (not allowed there) and leaves the `<input>` unlabelled; this row labels
 * the input itself ("Select this row" with the user's id) and opens the user's page on a click.
 *
 * @module
 */
import { Checkbox, TableCell, TableRow } from '@mui/material';
import { Children, isValidElement, type MouseEvent } from 'react';
import {
  DatagridCell,
  type DatagridRowProps,
  type RaRecord,
  RecordContextProvider,
  useRecordContext,
  useRedirect,
  useTranslate,
} from 'react-admin';

/** The row (pass as `<DatagridBody row={<UsersRow />} />`). */
export function UsersRow({
  record: given,
  id,
  resource,
  children,
  hasBulkActions,
  onToggleItem,
  selected,
  selectable,
  className,
  style,
}: DatagridRowProps) {
  const translate = useTranslate();
  const redirect = useRedirect();
  // The body provides the record through the context, not as a prop.
  const fromContext = useRecordContext<RaRecord>();
  const record = given ?? fromContext;
  if (record === undefined || id === undefined) return null;
  const toggle = (event: MouseEvent) => {
    if (selectable === false || onToggleItem === undefined) return;
    onToggleItem(id, event);
    event.stopPropagation();
  };
  return (
    <RecordContextProvider value={record}>
      <TableRow
        className={className}
        style={style}
        hover
        selected={selected === true}
        onClick={() => redirect('show', resource ?? 'users', id)}
        sx={{ cursor: 'pointer' }}
      >
        {hasBulkActions === true && (
          <TableCell padding="checkbox">
            <Checkbox
              color="primary"
              checked={selectable !== false && selected === true}
              disabled={selectable === false}
              onClick={toggle}
              slotProps={{
                input: { 'aria-label': translate('portal.users.list.selectRow', { user: String(id) }) },
              }}
            />
          </TableCell>
        )}
        {Children.map(children, (field, index) =>
          isValidElement(field) ? (
            <DatagridCell
              key={`${id}-${(field.props as { source?: string }).source ?? index}`}
              record={record}
              field={field}
              resource={resource ?? 'users'}
            />
          ) : null,
        )}
      </TableRow>
    </RecordContextProvider>
  );
}
