/**
 * Text that came from a peer (an error body, a WebSocket error message) may echo our own request back,
 * Authorization header and all. Before it reaches a log line or /ready it goes through here: known secret
 * values are cut out wherever they appear, and anything shaped like a credential is redacted too.
 */
const credentialPatterns: RegExp[] = [
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  /("?(?:authorization|token|password|secret|credentials|k8s_service_token)"?\s*[:=]\s*(?:(?:Bearer|Basic)\s+)?)("[^"]*"|'[^']*'|[^\s,;}&]+)/gi,
];
const redacted = '[redacted]';
const minSecretLength = 4;

export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= minSecretLength) result = result.split(secret).join(redacted);
  }
  result = result.replace(credentialPatterns[1] as RegExp, (_match, key: string) => `${key}${redacted}`);
  result = result.replace(credentialPatterns[0] as RegExp, (match, scheme: string) =>
    match.endsWith(redacted) ? match : `${scheme} ${redacted}`,
  );
  return result;
}
