import { render } from '@testing-library/svelte';
import { describe, expect, test } from 'vitest';
import GradeBadge from './GradeBadge.svelte';

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();

describe('GradeBadge', () => {
  test.each([
    ['safe_now', '✓ Safe now', 'check', 'grade-safe'],
    ['coordinate', '◐ Coordinate with the ward', 'half', 'grade-coordinate'],
    ['clinician_signoff', '✋ Clinician sign-off', 'hand', 'grade-signoff'],
    ['not_while_in_use', '⛔ Not while in use', 'no-entry', 'grade-blocked'],
  ] as const)('%s shows its symbol, a drawn shape and its words, not colour alone', (grade, text, icon, tone) => {
    const { getByTestId } = render(GradeBadge, { grade, testid: 'g' });
    const badge = getByTestId('g');
    expect(words(badge)).toBe(text);
    expect(badge.dataset.grade).toBe(grade);
    expect(badge.dataset.icon).toBe(icon);
    expect(badge.classList.contains(tone)).toBe(true);
    const svg = badge.querySelector('svg');
    expect(svg?.getAttribute('aria-hidden')).toBe('true');
    expect(svg?.children.length).toBeGreaterThan(0);
    // The words are visible text, not only a title or a colour.
    expect(words(badge.querySelector('.text'))).toBe(text.slice(2));
  });

  test('each grade has its own shape and colour', () => {
    const grades = ['safe_now', 'coordinate', 'clinician_signoff', 'not_while_in_use'] as const;
    const drawn = grades.map((grade) => {
      const { getByTestId, unmount } = render(GradeBadge, { grade, testid: `g-${grade}` });
      const badge = getByTestId(`g-${grade}`);
      const shape = badge.querySelector('svg')?.innerHTML;
      const tone = badge.className;
      unmount();
      return { shape, tone };
    });
    expect(new Set(drawn.map((d) => d.shape)).size).toBe(4);
    expect(new Set(drawn.map((d) => d.tone)).size).toBe(4);
  });

  test("the backend's label and marker are the ones shown", () => {
    const { getByTestId } = render(GradeBadge, { grade: 'coordinate', label: 'Coordinate with ICU 1', marker: '◐', testid: 'g' });
    expect(words(getByTestId('g'))).toBe('◐ Coordinate with ICU 1');
  });

  test('a grade unknown to this UI still shows words and a neutral colour', () => {
    // @ts-expect-error a grade outside the contract, as a newer backend might send
    const { getByTestId } = render(GradeBadge, { grade: 'later', testid: 'g' });
    const badge = getByTestId('g');
    expect(words(badge)).toBe('? later');
    expect(badge.classList.contains('grade-unknown')).toBe(true);
  });
});
