/**
 * The JSON the node answers with (REST answers, GET /status, the dashboard feed), declared once for the node, its clients and the dashboard.
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export type { HelloFrame, MessageSummary, StatusFrame } from './dashboard-feed.js';
export type { AlarmJson, NodeStatusJson, PeerProgressJson, RoleName } from './status.js';
export type {
  AlarmsJson,
  BatchJson,
  BatchOpResultJson,
  BytesJson,
  ClusterInfoJson,
  ClusterMemberJson,
  DefragmentJson,
  DeleteJson,
  FieldJson,
  GetJson,
  HashKvJson,
  HistoryJson,
  KeyValueJson,
  KeyVersionJson,
  LeaseGrantJson,
  LeaseListJson,
  LeaseTimeToLiveJson,
  MemberChangeJson,
  MemberJson,
  MemberListJson,
  PutJson,
  RecordJson,
  RevisionJson,
  RevisionFieldsJson,
  ScanJson,
  WatchEventJson,
  WatchMessageJson,
} from './rest.js';
