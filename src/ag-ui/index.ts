/**
 * `lockstep/ag-ui`: lockstep and the AG-UI protocol, both ways (docs/ag-ui.md).
 *
 * Inbound — an existing AG-UI agent (any language) behind lockstep:
 * ```ts
 * import { createLockstepServer } from 'lockstep';
 * import { agUiHandler } from 'lockstep/ag-ui';
 * createLockstepServer({ port: 8080, jwtSecret, handler: agUiHandler({ url: 'http://127.0.0.1:8000/agent' }) });
 * ```
 * Outbound — an AG-UI front end over lockstep (resume, exactly-once):
 * ```ts
 * import { createLockstepClient } from 'lockstep/client';
 * import { LockstepAgent } from 'lockstep/ag-ui';
 * const agent = new LockstepAgent({ client: createLockstepClient({ url, token }) });
 * ```
 * Needs the optional peer @ag-ui/client (LOCKSTEP_ERR_MISSING_PEER otherwise).
 * @module lockstep/ag-ui
 */
export { agUiHandler, type AgUiHandlerOptions } from './handler.js';
export { LockstepAgent, type LockstepAgentConfig } from './lockstep-agent.js';
export { LockstepToAgUi, THINKING_EVENT_NAME, type LockstepRunEvent } from './outbound-mapping.js';
export { agUiToRunCalls, applyRunCall, type RunCall } from './inbound-mapping.js';
export { AgUiRunChecker, DEFAULT_MAX_TRACKED_IDS, type AcceptedFacts, type ToolCallPhase, type Verdict } from './agui-grammar.js';
export { SseParser, SseEventTooLarge, DEFAULT_MAX_EVENT_BYTES } from './sse-parser.js';
export { runAgentInput, type LockstepRunAgentInput } from './run-input.js';
export { AG_UI_EVENT_TYPES, isAgUiEventType, MAX_ID_LENGTH, type AgUiEvent, type AgUiEventType } from './event-types.js';
