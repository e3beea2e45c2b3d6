import packageJson from '../package.json' with { type: 'json' };

/** The agent's version as reported to the control plane, `/version` and the dashboard. */
export const agentVersion: string = packageJson.version;
