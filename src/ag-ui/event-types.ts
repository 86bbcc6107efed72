/**
 * The AG-UI event types lockstep knows (AG-UI protocol 1.0, @ag-ui/core 1.0's `EventType`),
 * as plain strings: lockstep's inbound side reads the wire and needs no runtime part of
 * @ag-ui/core. An event of another type is refused as malformed (docs/ag-ui.md).
 */
export const AG_UI_EVENT_TYPES = [
  'TEXT_MESSAGE_START',
  'TEXT_MESSAGE_CONTENT',
  'TEXT_MESSAGE_END',
  'TEXT_MESSAGE_CHUNK',
  'TOOL_CALL_START',
  'TOOL_CALL_ARGS',
  'TOOL_CALL_END',
  'TOOL_CALL_CHUNK',
  'TOOL_CALL_RESULT',
  'STATE_SNAPSHOT',
  'STATE_DELTA',
  'MESSAGES_SNAPSHOT',
  'ACTIVITY_SNAPSHOT',
  'ACTIVITY_DELTA',
  'RAW',
  'CUSTOM',
  'RUN_STARTED',
  'RUN_FINISHED',
  'RUN_ERROR',
  'STEP_STARTED',
  'STEP_FINISHED',
  'REASONING_START',
  'REASONING_MESSAGE_START',
  'REASONING_MESSAGE_CONTENT',
  'REASONING_MESSAGE_END',
  'REASONING_MESSAGE_CHUNK',
  'REASONING_END',
  'REASONING_ENCRYPTED_VALUE',
  'SUBAGENT_STARTED',
  'SUBAGENT_FINISHED',
  'SUBAGENT_ERROR',
] as const;

/** One of {@link AG_UI_EVENT_TYPES}. */
export type AgUiEventType = (typeof AG_UI_EVENT_TYPES)[number];

/** An AG-UI event as read from the wire: its `type` and its fields (checked by the grammar). */
export interface AgUiEvent {
  type: AgUiEventType;
  [field: string]: unknown;
}

const KNOWN = new Set<string>(AG_UI_EVENT_TYPES);

/** Whether `type` is an AG-UI event type lockstep knows. */
export function isAgUiEventType(type: unknown): type is AgUiEventType {
  return typeof type === 'string' && KNOWN.has(type);
}

/**
 * The string fields each event type must carry (AG-UI 1.0's required fields that lockstep's
 * mapping reads); ids must also be 1–{@link MAX_ID_LENGTH} characters.
 */
export const REQUIRED_STRINGS: Partial<Record<AgUiEventType, readonly string[]>> = {
  TEXT_MESSAGE_START: ['messageId'],
  TEXT_MESSAGE_CONTENT: ['messageId', 'delta'],
  TEXT_MESSAGE_END: ['messageId'],
  TOOL_CALL_START: ['toolCallId', 'toolCallName'],
  TOOL_CALL_ARGS: ['toolCallId', 'delta'],
  TOOL_CALL_END: ['toolCallId'],
  TOOL_CALL_RESULT: ['messageId', 'toolCallId'],
  RUN_ERROR: ['message'],
};

/** The id fields among {@link REQUIRED_STRINGS}, bounded in length (the checker remembers them). */
export const ID_FIELDS = new Set(['messageId', 'toolCallId']);

/** Longest message or tool call id accepted (characters). */
export const MAX_ID_LENGTH = 256;
