/**
 * The directory sync status screen (`#/directory`, `audit.read`): per directory source, its SCIM
 * tokens and their last use (`scim.manage`), the users it manages (`users.read`, counted over the
 * first {@link USERS_CAP} users), and from the newest {@link AUDIT_WINDOW} audit records the
 * directory's changes, its last change and the refused requests. The admin API has no separate
 * sync report; the screen says so.
 *
 * @module
 */
import type { AuditRecordView, UserView } from '@cloister/admin';
import { Alert, Paper, Typography } from '@mui/material';
import { usePortal } from '../../session/use-portal.js';
import { checkpointSize, type SourceStatus, summariseDirectory } from './directory-model.js';
import { ErrorNotice, FieldList, Loading, Page, Section, useFormatTime, useLoad, useT } from './ui.js';

/** How many of the newest audit records the screen reads. */
export const AUDIT_WINDOW = 10_000;
/** How many users the screen counts at most. */
export const USERS_CAP = 5_000;

interface DirectoryState {
  readonly sources: readonly SourceStatus[];
  readonly scanned: { readonly from: number; readonly to: number } | undefined;
  readonly usersCapped: boolean;
}

export function DirectoryStatusPage() {
  const t = useT();
  const time = useFormatTime();
  const { client, can } = usePortal();
  const state = useLoad<DirectoryState>(async () => {
    const tokensRun = can('scim.manage') ? client.scim.listTokens() : Promise.resolve(undefined);
    const auditRun = can('audit.read')
      ? (async () => {
          const size = checkpointSize(await client.audit.checkpoint()) ?? 0;
          const start = Math.max(0, size - AUDIT_WINDOW);
          const records: AuditRecordView[] = [];
          let after: number | undefined = start;
          for (let i = 0; i < 20 && after !== undefined; i++) {
            const page = await client.searchAudit({ after, limit: 1000 });
            records.push(...page.items);
            after = page.next === undefined ? undefined : Number(page.next);
          }
          const last = records.at(-1)?.seq ?? size;
          return { records, scanned: { from: start + 1, to: last } };
        })()
      : Promise.resolve(undefined);
    const usersRun = can('users.read')
      ? (async () => {
          const users: UserView[] = [];
          let after: string | undefined;
          do {
            const page = await client.listUsers({ limit: 1000, ...(after === undefined ? {} : { after }) });
            users.push(...page.items);
            after = page.next;
          } while (after !== undefined && users.length < USERS_CAP);
          return { users, capped: after !== undefined };
        })()
      : Promise.resolve(undefined);
    const [tokens, audit, users] = await Promise.all([tokensRun, auditRun, usersRun]);
    return {
      sources: summariseDirectory({
        ...(tokens === undefined ? {} : { tokens }),
        ...(audit === undefined ? {} : { records: audit.records }),
        ...(users === undefined ? {} : { users: users.users }),
      }),
      scanned: audit?.scanned,
      usersCapped: users?.capped ?? false,
    };
  }, [client]);

  return (
    <Page title={t('directory.title')} intro={t('directory.intro')}>
      <Alert severity="info">{t('directory.apiNote')}</Alert>
      {can('audit.read') ? null : <Alert severity="info">{t('directory.noAudit')}</Alert>}
      {can('scim.manage') ? null : <Alert severity="info">{t('directory.noTokens')}</Alert>}
      {can('users.read') ? null : <Alert severity="info">{t('directory.noUsers')}</Alert>}
      {state.error !== undefined ? (
        <ErrorNotice error={state.error} onRetry={state.reload} />
      ) : state.data === undefined ? (
        <Loading />
      ) : (
        <>
          {state.data.sources.length === 0 ? (
            <Alert severity="info">{t('directory.empty')}</Alert>
          ) : (
            state.data.sources.map((s) => (
              <Section
                key={s.source}
                title={`${t('directory.source')}: ${s.source}`}
                id={`directory-${s.source}`}
              >
                <Paper variant="outlined" sx={{ p: 2 }}>
                  <FieldList
                    fields={{
                      ...(s.tokens === undefined
                        ? {}
                        : {
                            [t('directory.tokens')]: t('directory.tokensValue', { count: s.tokens.count }),
                            [t('directory.lastUsed')]: time(s.tokens.lastUsedAt),
                          }),
                      ...(state.data?.scanned === undefined
                        ? {}
                        : {
                            [t('directory.lastChange')]:
                              s.lastChange === undefined
                                ? t('common.none')
                                : `${time(s.lastChange.at)} (${s.lastChange.action})`,
                            [t('directory.changes')]: {
                              [t('directory.created')]: s.changes.created,
                              [t('directory.updated')]: s.changes.updated,
                              [t('directory.blocked')]: s.changes.blocked,
                              [t('directory.reenable')]: s.changes.reenable,
                              [t('directory.groups')]: s.changes.groups,
                            },
                            [t('directory.errors')]:
                              s.errors.last === undefined
                                ? t('directory.errorsNone')
                                : t('directory.errorsValue', {
                                    count: s.errors.count,
                                    at: time(s.errors.last.at),
                                    reason: s.errors.last.reason,
                                  }),
                          }),
                      ...(s.users === undefined
                        ? {}
                        : {
                            [t('directory.users')]:
                              t('directory.usersValue', s.users) +
                              (state.data?.usersCapped
                                ? ` (${t('directory.usersCapped', { count: USERS_CAP })})`
                                : ''),
                            [t('directory.reenablePending')]: s.users.reenableRequested,
                          }),
                    }}
                  />
                </Paper>
              </Section>
            ))
          )}
          {state.data.scanned === undefined ? null : (
            <Typography variant="body2" color="text.secondary">
              {t('directory.scanned', state.data.scanned)}
            </Typography>
          )}
        </>
      )}
    </Page>
  );
}
