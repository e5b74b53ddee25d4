import { http } from './http';

/** Fetch the Prometheus text of one instance. */
export async function scrapeMetrics(baseUrl: string): Promise<string> {
  const response = await http<string>(baseUrl, 'GET', '/metrics');
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return response.body;
}

/**
 * Find the value of one sample, 0 when the series does not exist yet. Labels must
 * be given in the order the exporter writes them, e.g. { outcome: 'allowed' }.
 */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const labelText = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  const series = labelText ? `${name}{${labelText}}` : name;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

export async function metricValue(baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleValue(await scrapeMetrics(baseUrl), name, labels);
}
