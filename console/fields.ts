// The telemetry fields the console plots and shows, with their units: the same names as
// `canopy history --field` (fleet/history.ts) and the sample layout of docs/telemetry.md.
import { HISTORY_FIELDS, type HistoryField } from '../fleet/history.ts';

export const FIELD_UNITS: Record<HistoryField, { unit: string; label: string }> = {
  temperature: { unit: '°C', label: 'temperature' },
  humidity: { unit: '%RH', label: 'humidity' },
  lux: { unit: 'lx', label: 'light' },
  motion: { unit: '0/1', label: 'motion' },
  dhtErrors: { unit: 'reads', label: 'DHT read failures' },
};

export { HISTORY_FIELDS, type HistoryField };
