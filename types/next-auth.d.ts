import type { Role } from '@/server/auth/roles';
import type { SessionClaims } from '@/server/auth/session-policy';

declare module 'next-auth' {
  interface Session {
    user: { name: string; role: Role };
    /** The session's own sign-in claims (its holder's data, no secret): the SSE stream re-checks them. */
    claims?: SessionClaims;
  }
  interface User {
    role: Role;
    sessionVersion: number;
  }
}

declare module 'next-auth/jwt' {
  interface JWT {
    role?: Role;
    sid?: string;
    signedInAt?: number;
    sessionVersion?: number;
    lastSeenAt?: number;
  }
}
