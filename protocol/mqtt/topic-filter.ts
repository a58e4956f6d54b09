// Topic names and filters (MQTT 3.1.1 §4.7): validation shared by the codec and the session,
// and the matching rule the simulator and monitor use for fleet subscriptions.
import { MqttProtocolError } from './packets';

export function validateTopicName(topic: string): void {
  if (topic.length === 0) throw new MqttProtocolError('topic-empty', 'topic name must not be empty (MQTT-4.7.3-1)');
  if (topic.indexOf('+') >= 0 || topic.indexOf('#') >= 0) {
    throw new MqttProtocolError('publish-topic-wildcard', `topic name "${topic}" contains a wildcard (MQTT-3.3.2-2)`);
  }
  if (topic.indexOf('\u0000') >= 0) throw new MqttProtocolError('null-character', 'topic contains U+0000 (MQTT-1.5.3-2)');
}

export function validateTopicFilter(filter: string): void {
  if (filter.length === 0) throw new MqttProtocolError('topic-filter-empty', 'topic filter must not be empty (MQTT-4.7.3-1)');
  if (filter.indexOf('\u0000') >= 0) throw new MqttProtocolError('null-character', 'topic filter contains U+0000 (MQTT-1.5.3-2)');
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.indexOf('#') >= 0 && (level !== '#' || i !== levels.length - 1)) {
      throw new MqttProtocolError('topic-filter-hash', `"#" must be alone in the last level of "${filter}" (MQTT-4.7.1-2)`);
    }
    if (level.indexOf('+') >= 0 && level !== '+') {
      throw new MqttProtocolError('topic-filter-plus', `"+" must be alone in its level of "${filter}" (MQTT-4.7.1-3)`);
    }
  }
}

/** Does `topic` match `filter`? Topics starting with '$' never match a leading wildcard (MQTT-4.7.2-1). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.charCodeAt(0) === 0x24 && (filter.charCodeAt(0) === 0x23 || filter.charCodeAt(0) === 0x2b)) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
