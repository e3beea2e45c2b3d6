import { withSession } from '@/server/http/route';
import { openLiveStream } from '@/server/live/live-feed';

export const dynamic = 'force-dynamic';

export const GET = withSession(({ req }) => openLiveStream(req.signal));
