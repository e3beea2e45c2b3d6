import { sessionBoundSignal } from '@/server/auth/session';
import { withSession } from '@/server/http/route';
import { openLiveStream } from '@/server/live/live-feed';

export const dynamic = 'force-dynamic';

// The stream ends when the request does, or when its session ends (sign-out, lifetime, idle, session_version).
export const GET = withSession(async ({ req }) => openLiveStream(await sessionBoundSignal(req.signal)));
