import { activityPost } from '@/server/ttl/activity-route';

/** Records activity on a TTL workload (admin session, or Bearer PIPEOPS_ACTIVITY_TOKEN for tools). */
export const POST = activityPost;
