// The rule lives with the agent (the headless agent's endpoints redact with it too); kept here for app imports.
export { internalAddressMarker, withoutInternalAddresses } from '@/agent/logging/internal-addresses';
