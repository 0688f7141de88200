/**
 * The dashboard (route `/`): active users and devices and deliveries per day over the last 30
 * days (`client.statistics.daily`), storage used against the quota (`client.usage()`), each chart
 * with a table alternative for screen readers. Figures the server suppresses (fewer than
 * `minPeople` people) are gaps, and the table says "suppressed". A role without `stats.read`
 * sees only the storage part; one without `tenant.read` sees an explanation.
 *
 * @module
 */
import type { DailyStatistics, TenantUsageView } from '@cloister/admin';
import {
  Alert,
  Box,
  Card,
  CardContent,
  CircularProgress,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import {
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  Legend,
  LinearScale,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { useEffect, useState } from 'react';
import { Title, useLocaleState, useTranslate } from 'react-admin';
import { Bar, Line } from 'react-chartjs-2';
import { usePortal } from '../session/use-portal.js';
import { describeError } from '../shell/errors.js';

ChartJS.register(CategoryScale, LinearScale, PointElement, LineElement, BarElement, Tooltip, Legend);

/** How many days the activity chart covers. */
export const DASHBOARD_DAYS = 30;

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `bytes` as a short human figure in `locale`. */
export function formatBytes(bytes: number, locale: string): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: unit === 0 ? 0 : 1 }).format(value)} ${units[unit]}`;
}

type Loaded<T> =
  | { state: 'loading' }
  | { state: 'ok'; value: T }
  | { state: 'error'; message: string }
  | { state: 'none' };

/** The dashboard screen. */
export function Dashboard() {
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const { client, can } = usePortal();
  const [stats, setStats] = useState<Loaded<DailyStatistics>>({ state: 'loading' });
  const [usage, setUsage] = useState<Loaded<TenantUsageView>>({ state: 'loading' });

  useEffect(() => {
    let live = true;
    const now = Date.now();
    if (can('stats.read')) {
      client.statistics
        .daily({ from: isoDay(now - (DASHBOARD_DAYS - 1) * 86_400_000), to: isoDay(now) })
        .then(
          (value) => live && setStats({ state: 'ok', value }),
          (error: unknown) => live && setStats({ state: 'error', message: describeError(error, translate) }),
        );
    } else setStats({ state: 'none' });
    if (can('tenant.read')) {
      client.usage().then(
        (value) => live && setUsage({ state: 'ok', value }),
        (error: unknown) => live && setUsage({ state: 'error', message: describeError(error, translate) }),
      );
    } else setUsage({ state: 'none' });
    return () => {
      live = false;
    };
  }, [client, can, translate]);

  return (
    <Box sx={{ display: 'grid', gap: 2, mt: 2, gridTemplateColumns: { xs: '1fr', lg: '3fr 2fr' } }}>
      <Title title={translate('portal.dashboard.title')} />
      <Card>
        <CardContent>
          <Typography component="h2" variant="h6">
            {translate('portal.dashboard.activity_title', { days: DASHBOARD_DAYS })}
          </Typography>
          <ActivityPart stats={stats} locale={locale} />
        </CardContent>
      </Card>
      <Card>
        <CardContent>
          <Typography component="h2" variant="h6">
            {translate('portal.dashboard.storage_title')}
          </Typography>
          <StoragePart usage={usage} locale={locale} />
        </CardContent>
      </Card>
    </Box>
  );
}

function Waiting() {
  const translate = useTranslate();
  return (
    <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, my: 2 }} role="status">
      <CircularProgress size={20} aria-hidden />
      <span>{translate('portal.dashboard.loading')}</span>
    </Box>
  );
}

function ActivityPart({
  stats,
  locale,
}: {
  readonly stats: Loaded<DailyStatistics>;
  readonly locale: string;
}) {
  const translate = useTranslate();
  if (stats.state === 'loading') return <Waiting />;
  if (stats.state === 'none')
    return <Alert severity="info">{translate('portal.dashboard.no_stats_permission')}</Alert>;
  if (stats.state === 'error') return <Alert severity="error">{stats.message}</Alert>;
  const { series, days, minPeople } = stats.value;
  const labels = days.map((d) => d.day.slice(5));
  const values = (points: readonly { value: number | null }[]) => points.map((p) => p.value);
  const number = new Intl.NumberFormat(locale);
  const cell = (v: number | null) =>
    v === null ? translate('portal.dashboard.suppressed') : number.format(v);
  const suppressedAny = days.some((d) => d.activeUsers === null || d.activeDevices === null);
  return (
    <>
      <Box sx={{ position: 'relative', height: 280 }}>
        <Line
          data-testid="activity-chart"
          role="img"
          aria-label={translate('portal.dashboard.activity_chart_label')}
          options={{ responsive: true, maintainAspectRatio: false, animation: false, spanGaps: false }}
          data={{
            labels,
            datasets: [
              {
                label: translate('portal.dashboard.active_users'),
                data: values(series.activeUsers),
                borderColor: '#1565c0',
                backgroundColor: '#1565c0',
              },
              {
                label: translate('portal.dashboard.active_devices'),
                data: values(series.activeDevices),
                borderColor: '#2e7d32',
                backgroundColor: '#2e7d32',
              },
              {
                label: translate('portal.dashboard.deliveries'),
                data: values(series.messages),
                borderColor: '#6a1b9a',
                backgroundColor: '#6a1b9a',
              },
            ],
          }}
        />
      </Box>
      {suppressedAny ? (
        <Typography variant="body2" sx={{ mt: 1 }}>
          {translate('portal.dashboard.suppressed_note', { min: minPeople })}
        </Typography>
      ) : null}
      <Box component="details" sx={{ mt: 1 }}>
        <summary>{translate('portal.dashboard.show_table')}</summary>
        <Table size="small" aria-label={translate('portal.dashboard.activity_table_label')}>
          <TableHead>
            <TableRow>
              <TableCell component="th" scope="col">
                {translate('portal.dashboard.day')}
              </TableCell>
              <TableCell component="th" scope="col" align="right">
                {translate('portal.dashboard.active_users')}
              </TableCell>
              <TableCell component="th" scope="col" align="right">
                {translate('portal.dashboard.active_devices')}
              </TableCell>
              <TableCell component="th" scope="col" align="right">
                {translate('portal.dashboard.deliveries')}
              </TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {days.map((d) => (
              <TableRow key={d.day}>
                <TableCell component="th" scope="row">
                  {d.day}
                </TableCell>
                <TableCell align="right">{cell(d.activeUsers)}</TableCell>
                <TableCell align="right">{cell(d.activeDevices)}</TableCell>
                <TableCell align="right">{cell(d.messages)}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </Box>
    </>
  );
}

function StoragePart({
  usage,
  locale,
}: {
  readonly usage: Loaded<TenantUsageView>;
  readonly locale: string;
}) {
  const translate = useTranslate();
  if (usage.state === 'loading') return <Waiting />;
  if (usage.state === 'none')
    return <Alert severity="info">{translate('portal.dashboard.no_usage_permission')}</Alert>;
  if (usage.state === 'error') return <Alert severity="error">{usage.message}</Alert>;
  const { blobs, archive, quotas } = usage.value;
  const free = Math.max(0, quotas.tenantMaxBytes - blobs.bytes - archive.bytes);
  const rows = [
    { label: translate('portal.dashboard.files'), bytes: blobs.bytes, count: blobs.count },
    { label: translate('portal.dashboard.archive'), bytes: archive.bytes, count: archive.count },
  ];
  const percent =
    quotas.tenantMaxBytes > 0
      ? new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(
          (blobs.bytes + archive.bytes) / quotas.tenantMaxBytes,
        )
      : '–';
  return (
    <>
      <Typography variant="body1" sx={{ mt: 1 }}>
        {translate('portal.dashboard.storage_summary', {
          used: formatBytes(blobs.bytes + archive.bytes, locale),
          quota: formatBytes(quotas.tenantMaxBytes, locale),
          percent,
        })}
      </Typography>
      <Box sx={{ position: 'relative', height: 200 }}>
        <Bar
          data-testid="storage-chart"
          role="img"
          aria-label={translate('portal.dashboard.storage_chart_label')}
          options={{
            indexAxis: 'y',
            responsive: true,
            maintainAspectRatio: false,
            animation: false,
            scales: {
              x: {
                stacked: true,
                max: quotas.tenantMaxBytes,
                ticks: { callback: (value) => formatBytes(Number(value), locale) },
              },
              y: { stacked: true },
            },
            plugins: {
              tooltip: {
                callbacks: { label: (c) => `${c.dataset.label}: ${formatBytes(Number(c.raw), locale)}` },
              },
            },
          }}
          data={{
            labels: [translate('portal.dashboard.storage')],
            datasets: [
              { label: rows[0]!.label, data: [blobs.bytes], backgroundColor: '#1565c0' },
              { label: rows[1]!.label, data: [archive.bytes], backgroundColor: '#6a1b9a' },
              { label: translate('portal.dashboard.free'), data: [free], backgroundColor: '#c8e6c9' },
            ],
          }}
        />
      </Box>
      <Table size="small" aria-label={translate('portal.dashboard.storage_table_label')}>
        <TableHead>
          <TableRow>
            <TableCell component="th" scope="col">
              {translate('portal.dashboard.kind')}
            </TableCell>
            <TableCell component="th" scope="col" align="right">
              {translate('portal.dashboard.size')}
            </TableCell>
            <TableCell component="th" scope="col" align="right">
              {translate('portal.dashboard.count')}
            </TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {rows.map((r) => (
            <TableRow key={r.label}>
              <TableCell component="th" scope="row">
                {r.label}
              </TableCell>
              <TableCell align="right">{formatBytes(r.bytes, locale)}</TableCell>
              <TableCell align="right">{new Intl.NumberFormat(locale).format(r.count)}</TableCell>
            </TableRow>
          ))}
          <TableRow>
            <TableCell component="th" scope="row">
              {translate('portal.dashboard.quota')}
            </TableCell>
            <TableCell align="right">{formatBytes(quotas.tenantMaxBytes, locale)}</TableCell>
            <TableCell align="right">–</TableCell>
          </TableRow>
        </TableBody>
      </Table>
    </>
  );
}
