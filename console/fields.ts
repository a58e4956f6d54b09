// The telemetry fields the console plots and shows, with their units: the same names as
// `canopy history --field` (fleet/history.ts); the units are the sensor-node declaration's
// (protocol/telemetry.ts), so a changed declaration changes the page too.
import { HISTORY_FIELDS, type HistoryField } from '../fleet/history.ts';
import { SENSOR_NODE_DECLARATION } from '../protocol/telemetry.ts';

const LABELS: Record<HistoryField, string> = { temperature: 'temperature', humidity: 'humidity', lux: 'light', motion: 'motion', dhtErrors: 'DHT read failures' };
/** What the page shows for a field the declaration gives no unit (a flag, a count). */
const NO_UNIT: Partial<Record<HistoryField, string>> = { motion: '0/1', dhtErrors: 'reads' };
const declared = new Map(SENSOR_NODE_DECLARATION.fields.map((f) => [f.name, f.unit]));

export const FIELD_UNITS = Object.fromEntries(
  HISTORY_FIELDS.map((f) => [f, { unit: declared.get(f) ?? NO_UNIT[f] ?? '', label: LABELS[f] }]),
) as Record<HistoryField, { unit: string; label: string }>;

export { HISTORY_FIELDS, type HistoryField };
