import type { DashboardView } from '@/server/dashboard/view-model';

/** A refused or failed request; `message` is the server's text and is shown to the user verbatim. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const dashboardKey = ['dashboard'] as const;

function errorBody(body: unknown): { code?: unknown; message?: unknown } | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = body.error;
  return typeof error === 'object' && error !== null ? error : undefined;
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    // Same-origin with the session cookie; the server checks Origin on mutations.
    response = await fetch(path, {
      ...init,
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    });
  } catch {
    throw new ApiError(
      0,
      'network',
      'Cannot reach the server: check the connection (or the port-forward) and try again',
    );
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = errorBody(body);
    throw new ApiError(
      response.status,
      typeof error?.code === 'string' ? error.code : `http_${response.status}`,
      typeof error?.message === 'string' ? error.message : `${response.status} ${response.statusText}`.trim(),
    );
  }
  return body as T;
}

export function fetchDashboard(): Promise<DashboardView> {
  return request<DashboardView>('/api/dashboard');
}

export function post<T>(path: string, body?: unknown): Promise<T> {
  return request<T>(path, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
}

export function workloadPath(namespace: string, name: string, action: string): string {
  return `/api/workloads/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${action}`;
}

export interface ActionResult {
  ok: true;
  message: string;
}

/** One object of a restore, as POST /api/restore/preview and /api/restore/apply report it. */
export interface RestoreObject {
  kind: string;
  namespace?: string;
  name: string;
  action: 'create' | 'update' | 'unchanged' | 'skipped' | 'refused';
  /** Unified diff of the current object against the restored one. */
  diff: string;
  note?: string;
}

export interface RestoreResult {
  objects: RestoreObject[];
}
