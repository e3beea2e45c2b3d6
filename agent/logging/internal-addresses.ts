/**
 * Messages that reach a browser never name internal addresses: the Kubernetes client puts the API
 * server URL (and webhook or proxy URLs from the API server's own messages) into its errors, and an
 * attacker who can provoke an error must not learn the cluster's topology from it. Logs keep the detail.
 */
const patterns: RegExp[] = [
  // scheme://anything up to whitespace or a closing quote/bracket
  /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)\]]+/gi,
  // [v6]:port
  /\[[0-9a-f:.]+\](?::\d+)?/gi,
  // v4 with an optional port
  /\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g,
  // cluster DNS names
  /\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:svc|cluster\.local|internal|local)(?::\d+)?\b/gi,
];

export const internalAddressMarker = '<internal address>';

export function withoutInternalAddresses(text: string): string {
  return patterns.reduce((out, pattern) => out.replace(pattern, internalAddressMarker), text);
}
