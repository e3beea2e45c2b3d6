import 'server-only';
import { z } from 'zod';

export type ApiErrorCode =
  | 'bad_request'
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'csrf'
  | 'read_only'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'internal'
  | (string & {});

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string; warnings?: string[] };
}

/** An error a route handler throws on purpose: it knows its HTTP status and renders `{error:{code,message}}`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** Side problems worth showing with the error, e.g. an audit record that could not be written. */
    readonly warnings: string[] = [],
  ) {
    super(message);
  }

  toJSON(): ApiErrorBody {
    const warnings = this.warnings.length > 0 ? { warnings: this.warnings } : {};
    return { error: { code: this.code, message: this.message, ...warnings } };
  }

  toResponse(): Response {
    return Response.json(this.toJSON(), { status: this.status, headers: { 'Cache-Control': 'no-store' } });
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'bad_request', message);
export const unauthorized = (message = 'sign in to use the dashboard'): ApiError =>
  new ApiError(401, 'unauthorized', message);
export const forbidden = (message: string, code: ApiErrorCode = 'forbidden'): ApiError =>
  new ApiError(403, code, message);
export const notFound = (message: string): ApiError => new ApiError(404, 'not_found', message);
export const conflict = (message: string): ApiError => new ApiError(409, 'conflict', message);
export const internalError = (): ApiError => new ApiError(500, 'internal', 'internal error');

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let node = input;
  for (const part of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = field ? ` in ${field}` : '';
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${where}`;
  }
  const name = field || 'value';
  const value = valueAt(input, issue.path);
  if (value === undefined) return `${name} is required: ${issue.message}`;
  return `${name} = ${describeValue(value)} is invalid: ${issue.message}`;
}

/** A 400 whose message names every bad field, its value and what is allowed (from the schema's messages). */
export function fromZodError(error: z.ZodError, where: string, input?: unknown): ApiError {
  const problems = error.issues.map((issue) => describeIssue(issue, input));
  return new ApiError(400, 'invalid_request', `invalid ${where}: ${problems.join('; ')}`);
}
