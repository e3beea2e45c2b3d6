import NextAuth from 'next-auth';
import type { NextRequest } from 'next/server';
import { authOptions } from '@/server/auth/options';
import { authBodyLimitBytes, boundedBodyError, boundedRequest } from '@/server/http/bounded-request';

export const dynamic = 'force-dynamic';

// next-auth v4's App Router handler: (request, { params }) with the options built from the validated env, and
// the body bounded first (the login callback is unauthenticated).
async function handler(req: NextRequest, context: { params: Promise<{ nextauth: string[] }> }): Promise<Response> {
  let bounded: NextRequest;
  try {
    bounded = await boundedRequest(req, authBodyLimitBytes);
  } catch (error) {
    return boundedBodyError(error);
  }
  return NextAuth(bounded, context, authOptions()) as Promise<Response>;
}

export { handler as GET, handler as POST };
