import type { ActionName, ActionPermission, DashboardView } from '@/server/dashboard/view-model';

export interface ActionGate {
  enabled: boolean;
  /** Why the action is disabled; shown as the button's title, to screen readers and in the row. */
  reason?: string;
}

/** The viewer's role, before any RBAC: a viewer sees every button disabled with the same reason. */
export function roleGate(view: DashboardView): ActionGate {
  if (view.viewer.readOnly) return { enabled: false, reason: 'read-only mode' };
  if (view.viewer.role !== 'admin') return { enabled: false, reason: 'read-only (viewer)' };
  return { enabled: true };
}

function rbacGate(permission: ActionPermission | undefined, scope: string): ActionGate {
  // Fail closed: no pre-check result means the server could not confirm the agent may do it.
  if (!permission) return { enabled: false, reason: `permissions unknown for ${scope}` };
  if (permission.allowed) return { enabled: true };
  const missing = permission.missing.length > 0 ? permission.missing.join(', ') : 'not permitted';
  return { enabled: false, reason: `missing: ${missing}` };
}

export function namespaceGate(view: DashboardView, namespace: string, action: ActionName): ActionGate {
  const role = roleGate(view);
  if (!role.enabled) return role;
  return rbacGate(view.permissions[namespace]?.[action], `namespace ${namespace}`);
}

export function globalGate(view: DashboardView, action: ActionName): ActionGate {
  const role = roleGate(view);
  if (!role.enabled) return role;
  return rbacGate(view.globalPermissions[action], action);
}
