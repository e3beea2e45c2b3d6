'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { dashboardKey, post, type ActionResult } from './api';

/**
 * A runbook POST. SSE normally delivers the effect; the invalidation is a fallback for when the feed is down.
 * `onDone` receives the server's message.
 */
export function useAction<Body>(path: string, onDone: (message: string) => void) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: Body) => post<ActionResult>(path, body),
    onSuccess: (result) => {
      onDone(result.message);
      return queryClient.invalidateQueries({ queryKey: dashboardKey });
    },
  });
}
