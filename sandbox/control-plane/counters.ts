/** Per-route request counts (every request, rejected ones included) and WebSocket message counts. */
export class RequestCounters {
  private counts = new Map<string, number>();
  private byStatus = new Map<string, Map<string, number>>();
  private wsMessages = new Map<string, number>();

  /** Counts one request of `route` ("METHOD /path/pattern") answered with `status`. */
  count(route: string, status: number): void {
    this.counts.set(route, (this.counts.get(route) ?? 0) + 1);
    const statuses = this.byStatus.get(route) ?? new Map<string, number>();
    statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1);
    this.byStatus.set(route, statuses);
  }

  /** Counts one inbound WebSocket message by type ("(invalid)" when it did not parse). */
  countMessage(type: string): void {
    this.wsMessages.set(type, (this.wsMessages.get(type) ?? 0) + 1);
  }

  reset(): void {
    this.counts.clear();
    this.byStatus.clear();
    this.wsMessages.clear();
  }

  toJSON(): {
    counts: Record<string, number>;
    by_status: Record<string, Record<string, number>>;
    ws_messages: Record<string, number>;
  } {
    const byStatus: Record<string, Record<string, number>> = {};
    for (const [route, statuses] of this.byStatus) byStatus[route] = Object.fromEntries(statuses);
    return {
      counts: Object.fromEntries(this.counts),
      by_status: byStatus,
      ws_messages: Object.fromEntries(this.wsMessages),
    };
  }
}
