// The host side of tool protocol 1 for CPython sessions: Node functions the guest calls as
// `from host import tools`, over JSON frames through the session's door.
export { ToolHost } from './host.js';
export { toolStubs } from './stubs.js';
export {
  DEFAULT_MAX_CALLS_PER_TURN,
  DEFAULT_TOOL_TIMEOUT_MS,
  TOOL_ANSWER_BYTES,
  TOOL_NESTING,
  TOOL_PROTOCOL,
  TOOL_RECORD_CALLS,
  TOOL_REQUEST_BYTES,
  ToolDenied,
  type PythonTool,
  type ToolCallInfo,
  type ToolCallRecord,
  type ToolContext,
  type ToolErrorKind,
  type ToolHostOptions,
  type ToolRecord,
} from './types.js';
