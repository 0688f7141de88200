/**
 * The pool-rules screen (`#/pool-rules`): which pool's members may contact which pool, as a matrix
 * of checkboxes (row: the pool whose members write; column: the pool they may reach; a pool always
 * reaches itself). Publishing signs the whole rule set in this browser (`signPoolRules` with the
 * session's signer) and the server stores it (`pools.write`). The current rules are read from the
 * pools' `mayContact` (the server's view of the newest signed rule set).
 *
 * @module
 */
import { signPoolRules } from '@cloister/admin';
import {
  Alert,
  Box,
  Button,
  Checkbox,
  Paper,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Title, useNotify, useTranslate } from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import { ErrorAlert, K, Loading } from './common.js';
import { loadPools, type PoolRow } from './pools.js';
import { type RuleMatrix, rulesOfPools, sameRules } from './rules-model.js';

/** The pool-rules screen. */
export function PoolRulesScreen() {
  const translate = useTranslate();
  const notify = useNotify();
  const session = usePortal();
  const canWrite = session.can('pools.write');
  const [pools, setPools] = useState<PoolRow[] | undefined>();
  const [rules, setRules] = useState<RuleMatrix>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [published, setPublished] = useState<number | undefined>();

  const reload = useCallback(async () => {
    setError(undefined);
    try {
      const loaded = await loadPools(session.client);
      setPools(loaded);
      setRules(rulesOfPools(loaded));
    } catch (e) {
      setError(e);
      setPools((p) => p ?? []);
    }
  }, [session.client]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const stored = useMemo(() => rulesOfPools(pools ?? []), [pools]);
  const changed = !sameRules(stored, rules);

  const toggle = (from: string, to: string, on: boolean) => {
    setPublished(undefined);
    setRules((r) => {
      const set = new Set(r[from] ?? []);
      if (on) set.add(to);
      else set.delete(to);
      return { ...r, [from]: [...set].sort() };
    });
  };

  const publish = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const signer = await session.signer();
      const answer = await signPoolRules(signer, rules);
      setPublished(answer.sequence);
      notify(translate(`${K}.rules.published`, { sequence: answer.sequence }), { type: 'success' });
      await reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box sx={{ p: 2 }}>
      <Title title={translate(`${K}.rules.title`)} />
      <Typography sx={{ mb: 2 }}>{translate(`${K}.rules.intro`)}</Typography>
      <ErrorAlert error={error} />
      {published !== undefined && !changed && (
        <Alert severity="success" sx={{ mb: 2 }}>
          {translate(`${K}.rules.published`, { sequence: published })}
        </Alert>
      )}
      {pools === undefined ? (
        <Loading label={translate(`${K}.rules.loading`)} />
      ) : pools.length < 2 ? (
        <Alert severity="info">{translate(`${K}.rules.empty`)}</Alert>
      ) : (
        <>
          <TableContainer component={Paper} sx={{ mb: 2, overflowX: 'auto' }}>
            <Table size="small" aria-label={translate(`${K}.rules.table`)}>
              <TableHead>
                <TableRow>
                  <TableCell component="th" scope="col">
                    {translate(`${K}.rules.members_of`)}
                  </TableCell>
                  {pools.map((to) => (
                    <TableCell key={to.id} component="th" scope="col" align="center">
                      {to.name}
                    </TableCell>
                  ))}
                </TableRow>
              </TableHead>
              <TableBody>
                {pools.map((from) => (
                  <TableRow key={from.id}>
                    <TableCell component="th" scope="row">
                      {from.name}
                    </TableCell>
                    {pools.map((to) =>
                      to.id === from.id ? (
                        <TableCell key={to.id} align="center">
                          <Checkbox
                            checked
                            disabled
                            slotProps={{
                              input: {
                                'aria-label': translate(`${K}.rules.itself`, { pool: from.name }),
                              },
                            }}
                          />
                        </TableCell>
                      ) : (
                        <TableCell key={to.id} align="center">
                          <Checkbox
                            checked={(rules[from.id] ?? []).includes(to.id)}
                            disabled={!canWrite || busy}
                            onChange={(e) => toggle(from.id, to.id, e.target.checked)}
                            slotProps={{
                              input: {
                                'aria-label': translate(`${K}.rules.cell`, { from: from.name, to: to.name }),
                              },
                            }}
                          />
                        </TableCell>
                      ),
                    )}
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </TableContainer>
          <Typography variant="body2" sx={{ mb: 2 }}>
            {translate(`${K}.rules.note`)}
          </Typography>
          {canWrite ? (
            <Box sx={{ display: 'flex', gap: 2 }}>
              <Button variant="contained" onClick={publish} disabled={busy || !changed}>
                {translate(`${K}.rules.publish`)}
              </Button>
              <Button onClick={() => setRules(stored)} disabled={busy || !changed}>
                {translate(`${K}.rules.discard`)}
              </Button>
            </Box>
          ) : (
            <Alert severity="info">{translate(`${K}.rules.read_only`)}</Alert>
          )}
        </>
      )}
    </Box>
  );
}
