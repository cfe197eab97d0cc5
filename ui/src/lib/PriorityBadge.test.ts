import { render } from '@testing-library/svelte';
import { describe, expect, test } from 'vitest';
import PriorityBadge from './PriorityBadge.svelte';

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();

describe('PriorityBadge', () => {
  test.each([
    ['high', '*** High'],
    ['medium', '** Medium'],
    ['low', '* Low'],
  ] as const)('%s shows the alarm marker and the word', (priority, text) => {
    const { getByTestId } = render(PriorityBadge, { priority });
    const badge = getByTestId('priority-badge');
    expect(words(badge)).toBe(text);
    expect(badge.dataset.priority).toBe(priority);
    expect(badge.classList.contains(`priority-${priority}`)).toBe(true);
    expect(badge.getAttribute('aria-label')).toBe(`${text.split(' ')[1]} priority`);
  });

  test('a priority unknown to this UI still shows a word and no colour of a known one', () => {
    // @ts-expect-error a priority outside the contract, as a newer backend might send
    const { getByTestId } = render(PriorityBadge, { priority: 'urgent' });
    const badge = getByTestId('priority-badge');
    expect(words(badge)).toBe('? urgent');
    expect(badge.classList.contains('priority-unknown')).toBe(true);
  });
});
