'use client';

import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { DashboardView, LiveUpdate } from '@/server/dashboard/view-model';
import { dashboardKey } from './api';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

declare global {
  interface Window {
    /** Read by the e2e test to measure SSE latency. */
    __pipeopsLive?: { lastSentAt: number; lastReceivedAt: number; count: number };
  }
}

const topics = new Set(['agent', 'workloads', 'audit']);
/** EventSource gives up for good on an HTTP error (e.g. 401); start a new one after this delay. */
const restartDelayMs = 5000;

function parseUpdate(raw: string): LiveUpdate | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return undefined;
    const candidate = value as Partial<LiveUpdate>;
    const valid =
      typeof candidate.topic === 'string' &&
      topics.has(candidate.topic) &&
      typeof candidate.sentAt === 'number' &&
      typeof candidate.data === 'object' &&
      candidate.data !== null;
    return valid ? (value as LiveUpdate) : undefined;
  } catch {
    return undefined;
  }
}

/** Each topic replaces its keys as a whole, so an omitted optional key (e.g. `link`) is cleared too. */
function applyUpdate(view: DashboardView, update: LiveUpdate): DashboardView {
  switch (update.topic) {
    case 'agent':
      return { ...view, agent: update.data.agent, link: update.data.link, tunnel: update.data.tunnel };
    case 'workloads':
      return { ...view, workloads: update.data.workloads, workloadsError: update.data.workloadsError };
    case 'audit':
      return { ...view, audit: update.data.audit };
  }
}

function record(update: LiveUpdate): void {
  const previous = window.__pipeopsLive;
  window.__pipeopsLive = { lastSentAt: update.sentAt, lastReceivedAt: Date.now(), count: (previous?.count ?? 0) + 1 };
}

function connect(queryClient: QueryClient, setStatus: (status: LiveStatus) => void): () => void {
  let source: EventSource | undefined;
  let restart: ReturnType<typeof setTimeout> | undefined;
  let interrupted = false;

  const open = (): void => {
    source = new EventSource('/api/events');
    source.onopen = () => {
      setStatus('live');
      // Updates sent while we were away are lost: fetch the whole view once.
      if (interrupted) void queryClient.invalidateQueries({ queryKey: dashboardKey });
      interrupted = false;
    };
    source.onerror = () => {
      interrupted = true;
      setStatus('reconnecting');
      if (source?.readyState === EventSource.CLOSED) {
        source.close();
        restart = setTimeout(open, restartDelayMs);
        // Surfaces the reason (for instance an expired session) through the query's error.
        void queryClient.invalidateQueries({ queryKey: dashboardKey });
      }
    };
    source.addEventListener('update', (event: MessageEvent<string>) => {
      const update = parseUpdate(event.data);
      if (!update) return;
      record(update);
      queryClient.setQueryData<DashboardView>(dashboardKey, (view) => view && applyUpdate(view, update));
    });
  };

  open();
  return () => {
    clearTimeout(restart);
    source?.close();
  };
}

/** Keeps the `['dashboard']` cache entry current from the SSE feed; returns the connection state. */
export function useLiveUpdates(): LiveStatus {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  useEffect(() => connect(queryClient, setStatus), [queryClient]);
  return status;
}
