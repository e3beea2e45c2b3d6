/** Dashboard roles, lowest first. Plain data so client components may import it too. */
export const roles = ['viewer', 'admin'] as const;

export type Role = (typeof roles)[number];

/** The signed-in user as the server sees it on every request. */
export interface SessionUser {
  name: string;
  role: Role;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/** True when `actual` is at least `required` (admin can do everything a viewer can). */
export function hasRole(actual: Role, required: Role): boolean {
  return roles.indexOf(actual) >= roles.indexOf(required);
}
