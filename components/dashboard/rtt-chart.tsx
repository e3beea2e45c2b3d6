'use client';

import { CartesianGrid, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import type { RttPoint } from '@/server/dashboard/view-model';
import { formatClock, formatTime } from './format';

const windowMs = 15 * 60_000;

/** Heartbeat round-trip times of the last 15 minutes; the x axis always spans the full window. */
export function RttChart({ points, now }: { points: RttPoint[]; now: number }) {
  const recent = points.filter((p) => p.t >= now - windowMs);
  const max = recent.reduce((m, p) => Math.max(m, p.ms), 0);
  return (
    <figure data-testid="rtt-chart" className="mt-3">
      <figcaption className="mb-1 text-xs text-zinc-500 dark:text-zinc-400">
        Heartbeat RTT, last 15 minutes (ms, UTC){recent.length > 0 ? ` · max ${max} ms` : ''}
      </figcaption>
      {recent.length === 0 ? (
        <p className="flex h-40 items-center justify-center rounded border border-dashed border-zinc-300 text-sm text-zinc-500 dark:border-zinc-700">
          No acknowledged heartbeats in the last 15 minutes.
        </p>
      ) : (
        <LineChart
          responsive
          data={recent}
          style={{ width: '100%', height: 160 }}
          margin={{ top: 4, right: 8, bottom: 0, left: -16 }}
          accessibilityLayer
          aria-label={`Heartbeat round-trip time chart, ${recent.length} points, max ${max} ms`}
        >
          <CartesianGrid strokeDasharray="3 3" className="stroke-zinc-200 dark:stroke-zinc-800" />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={[now - windowMs, now]}
            tickFormatter={formatClock}
            tick={{ fontSize: 11, fill: 'currentColor' }}
            allowDataOverflow
          />
          <YAxis dataKey="ms" unit=" ms" width={64} tick={{ fontSize: 11, fill: 'currentColor' }} />
          <Tooltip
            labelFormatter={(label) => formatTime(Number(label))}
            formatter={(value) => [`${String(value)} ms`, 'RTT']}
            contentStyle={{ fontSize: 12 }}
          />
          <Line dataKey="ms" stroke="var(--color-brand)" strokeWidth={2} dot={false} isAnimationActive={false} />
        </LineChart>
      )}
    </figure>
  );
}
