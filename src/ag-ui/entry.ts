/**
 * What `import 'lockstep/ag-ui'` loads (package.json exports → dist/src/ag-ui/entry.js):
 * index.ts behind a check for its optional peer @ag-ui/client (and its @ag-ui/core), as
 * src/testing/entry.ts does for fast-check — a missing peer is LOCKSTEP_ERR_MISSING_PEER with
 * the install line, not ERR_MODULE_NOT_FOUND from deep in dist/. The types are index.ts's;
 * test/unit/ag-ui-entry.test.ts checks these names against index.ts.
 */
import { withOptionalPeer } from '../optional-peer.js';

const load = () => withOptionalPeer('@ag-ui/core', 'lockstep/ag-ui', () => import('./index.js'));
const agUi = await withOptionalPeer('@ag-ui/client', 'lockstep/ag-ui', load);

export const {
  AG_UI_EVENT_TYPES,
  AgUiRunChecker,
  DEFAULT_MAX_EVENT_BYTES,
  DEFAULT_MAX_TRACKED_IDS,
  LockstepAgent,
  LockstepToAgUi,
  MAX_ID_LENGTH,
  SseEventTooLarge,
  SseParser,
  THINKING_EVENT_NAME,
  agUiHandler,
  agUiToRunCalls,
  applyRunCall,
  isAgUiEventType,
  runAgentInput,
} = agUi;
