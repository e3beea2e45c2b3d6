import 'server-only';
import { ApiException } from '@kubernetes/client-node';
import { describeKubeError } from '@/agent/kubernetes/errors';

export type RunbookErrorStatus = 400 | 403 | 404 | 409 | 413 | 422 | 502;

export type RunbookErrorCode =
  | 'invalid_input'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rejected_by_api'
  | 'kubernetes_unavailable'
  | 'restore_refused'
  | 'payload_too_large'
  | 'read_only';

const codeForStatus: Record<RunbookErrorStatus, RunbookErrorCode> = {
  400: 'invalid_input',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  422: 'rejected_by_api',
  502: 'kubernetes_unavailable',
};

/** The one error type runbook functions throw; route handlers map `status` and `code` to a response. */
export class RunbookError extends Error {
  readonly status: RunbookErrorStatus;
  readonly code: RunbookErrorCode;
  /** Problems that did not cause the failure but must be shown with it (e.g. audit not written). */
  readonly warnings: string[] = [];

  constructor(status: RunbookErrorStatus, message: string, code: RunbookErrorCode = codeForStatus[status]) {
    super(message);
    this.name = 'RunbookError';
    this.status = status;
    this.code = code;
  }
}

/** Maps a Kubernetes API failure onto a RunbookError; the API server's own message is kept. */
export function fromKubeError(error: unknown, what: string): RunbookError {
  if (error instanceof RunbookError) return error;
  const detail = describeKubeError(error);
  if (!(error instanceof ApiException)) {
    return new RunbookError(502, `${what}: the Kubernetes API could not be reached (${detail})`);
  }
  switch (error.code) {
    case 400:
    case 422:
      return new RunbookError(422, `${what}: the Kubernetes API rejected it (${detail})`);
    case 403:
      return new RunbookError(403, `${what}: the agent is not allowed to (${detail})`);
    case 404:
      return new RunbookError(404, `${what}: not found (${detail})`);
    case 409:
      return new RunbookError(409, `${what}: conflict (${detail})`);
    default:
      return new RunbookError(502, `${what}: the Kubernetes API failed (${detail})`);
  }
}
