import type { Role } from '@/server/auth/roles';

declare module 'next-auth' {
  interface Session {
    user: { name: string; role: Role };
  }
  interface User {
    role: Role;
  }
}

declare module 'next-auth/jwt' {
  interface JWT {
    role?: Role;
  }
}
