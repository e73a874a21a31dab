import { useState } from 'react';
import { useQueryClient, type InvalidateQueryFilters } from '@tanstack/react-query';
import { asProblem, type Problem } from '../api/client';

/**
 * What a button's call to the API shares: busy while it runs, the problem it met (for the caller to show), and
 * the page's data read again once it succeeded (all of it, or what `refresh` names).
 */
export function useAction(refresh?: InvalidateQueryFilters) {
  const queries = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setProblem(null);
    try {
      await work();
      await queries.invalidateQueries(refresh);
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  /** forgets the problem shown (a dialog cancelled) */
  const clear = () => setProblem(null);
  return { busy, problem, run, clear };
}
