import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { describeKubeError } from './errors';

/** Who writes the agent's own Events; `kubectl get events --field-selector source=pipeops-agent` finds them. */
export const agentEventSource = 'pipeops-agent';

export interface AgentEvent {
  namespace: string;
  // uid makes the Event show up in `kubectl describe` of the object.
  involvedObject: { apiVersion: string; kind: string; name: string; namespace: string; uid?: string };
  reason: string;
  message: string;
  type?: 'Normal' | 'Warning';
}

/**
 * Records a core/v1 Event; never throws (an Event is a courtesy to the operator, not a reason to fail
 * the operation it describes) and returns the error text instead.
 */
export async function recordEvent(kc: KubeConfig, event: AgentEvent): Promise<string | undefined> {
  const now = new Date();
  try {
    await kc.makeApiClient(CoreV1Api).createNamespacedEvent({
      namespace: event.namespace,
      body: {
        metadata: { generateName: `${event.involvedObject.name}.`, namespace: event.namespace },
        involvedObject: event.involvedObject,
        reason: event.reason,
        message: event.message.slice(0, 1024),
        type: event.type ?? 'Normal',
        source: { component: agentEventSource },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
    return undefined;
  } catch (error) {
    return describeKubeError(error);
  }
}
