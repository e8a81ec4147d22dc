import { describe, expect, it } from 'vitest';
import { assertNoRawValues, buildReport, summarizeReport } from '../../../audit/report.js';
import { renderReportHtml } from '../../../audit/report-html.js';
import { DEFAULT_THRESHOLDS, resolveThresholds } from '../../../audit/thresholds.js';
import type { CheckResult, ReportSubject } from '../../../audit/types.js';
import type { Status } from '../../../lib/vocabulary.js';

const subject: ReportSubject = { kind: 'table', artifactHash: 'ab'.repeat(32), recipeHash: 'cd'.repeat(32), runId: 'run-1', outputId: 'by_area', inputs: ['ef'.repeat(32)] };

function check(id: string, status: Status, extra: Partial<CheckResult> = {}): CheckResult {
  return { id, name: `check ${id}`, status, summary: `${id} summary`, columns: [], metrics: {}, parameters: {}, ...extra };
}

describe('buildReport', () => {
  it('takes the worst status: fail > review > pass', () => {
    const at = '2025-02-01T00:00:00.000Z';
    expect(buildReport({ subject, thresholds: DEFAULT_THRESHOLDS, checks: [check('A1', 'pass'), check('A5', 'review')], createdAt: at }).status).toBe('review');
    expect(buildReport({ subject, thresholds: DEFAULT_THRESHOLDS, checks: [check('A1', 'fail'), check('A5', 'review')], createdAt: at }).status).toBe('fail');
    expect(buildReport({ subject, thresholds: DEFAULT_THRESHOLDS, checks: [check('A1', 'pass')], createdAt: at }).status).toBe('pass');
  });

  it('flattens the thresholds in force and keeps the subject', () => {
    const r = buildReport({
      subject,
      thresholds: resolveThresholds(undefined, { A1: { threshold: 12 } }),
      checks: [],
      createdAt: new Date('2025-03-01T08:00:00Z'),
    });
    expect(r.version).toBe(1);
    expect(r.thresholds['A1.threshold']).toBe(12);
    expect(r.thresholds['A10.allowedFileTypes']).toBe('csv,parquet,json');
    expect(r.subject).toEqual(subject);
    expect(r.createdAt).toBe('2025-03-01T08:00:00.000Z');
  });

  it('refuses a report without an artifact hash (it could not bind an approval)', () => {
    expect(() => buildReport({ subject: { ...subject, artifactHash: '' }, thresholds: {}, checks: [], createdAt: '2025-01-01T00:00:00Z' })).toThrow(
      /artifactHash/,
    );
  });
});

describe('summarizeReport', () => {
  it('prints the overall status and one line per check', () => {
    const r = buildReport({
      subject,
      thresholds: DEFAULT_THRESHOLDS,
      checks: [check('A1', 'fail', { summary: '2 of 40 cells count fewer than 10 distinct units (smallest 3)' }), check('A2', 'pass')],
      createdAt: '2025-02-01T00:00:00Z',
    });
    const lines = summarizeReport(r).split('\n');
    expect(lines[0]).toContain('FAIL');
    expect(lines[0]).toContain('abababababab');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/A1\s+FAIL\s+check A1: 2 of 40 cells/);
    expect(lines[2]).toMatch(/A2\s+PASS/);
  });
});

describe('assertNoRawValues', () => {
  it('counts hits after folding case and full-width forms, and returns only the count', () => {
    const text = 'summary: cell ＺＨＡＮＧ San and zhang san; phone 13800138000';
    expect(assertNoRawValues(text, ['Zhang San', '13800138000', 'absent'])).toBe(3);
  });

  it('matches ASCII values only at token edges, CJK values anywhere', () => {
    expect(assertNoRawValues('1350 cells, 35x', ['35'])).toBe(0);
    expect(assertNoRawValues('smallest 35 units', ['35'])).toBe(1);
    expect(assertNoRawValues('由张三提交', ['张三'])).toBe(1);
  });

  it('can skip short values that would match counts', () => {
    expect(assertNoRawValues('3 cells', ['3', 'F'], { minLength: 2 })).toBe(0);
  });
});

describe('renderReportHtml', () => {
  const checks: CheckResult[] = [
    check('A1', 'fail', {
      name: 'threshold',
      summary: '<script>alert("x")</script> & more',
      columns: ['area<b>'],
      metrics: { cellsFailing: 2, smallestCount: 3 },
      parameters: { threshold: 10 },
      series: { cellSizeHistogram: [[3, 2], [10, 5], [20, 9]] },
    }),
    check('B3', 'review', { series: { classSizeHistogram: [[5, 1], [10, 4]], riskHistogram: [[0.1, 3], [0.2, 1]] }, parameters: { failBelow: 5 } }),
    check('C4', 'pass', {
      series: {
        roc: [[0, 0], [0.1, 0.2], [0.5, 0.6], [1, 1]],
        scoreHistogramMembers: [[0.5, 3], [0.9, 10]],
        scoreHistogramNonMembers: [[0.5, 6], [0.9, 7]],
      },
    }),
  ];
  const report = buildReport({ subject, thresholds: DEFAULT_THRESHOLDS, checks, createdAt: '2025-02-01T00:00:00Z' });
  const html = renderReportHtml(report);

  it('is self-contained: no script, no external resource', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\s(src|href)\s*=/i);
    expect(html).not.toMatch(/url\(|@import|<link|<iframe|<object/i);
    expect(html).toContain("default-src 'none'");
  });

  it('escapes every text it shows', () => {
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');
    expect(html).toContain('area&lt;b&gt;');
  });

  it('colours statuses and draws the plots a person would look at', () => {
    expect(html).toMatch(/class="status fail"/);
    expect(html).toMatch(/class="status review"/);
    expect(html).toContain('ROC curve');
    expect(html).toContain('attack scores');
    expect(html).toContain('cell size histogram');
    expect(html).toContain('class size histogram');
    expect(html).toContain('risk histogram');
    expect(html).toContain('Cells failing, by check');
    expect((html.match(/<svg /g) ?? []).length).toBe(6);
    // The bin of 3 units is under A1's threshold of 10 and is painted in the fail colour.
    expect(html).toMatch(/fill="#9b1c14"[^>]*><title>cellSizeHistogram: 3 → 2/);
  });

  it('shows the subject and the thresholds in force', () => {
    expect(html).toContain(subject.artifactHash);
    expect(html).toContain('A1.threshold');
  });
});
