//! [`DataSet`]: one split (train, validation or test) with TensorFlow's
//! `next_batch` semantics.

use ndarray::{s, Array2, ArrayD, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

use crate::Error;

/// One split of a data set: images, labels and the state of the mini-batch
/// iterator, like TensorFlow's `mnist.DataSet`.
///
/// The arrays returned by [`images`](DataSet::images), [`labels`](DataSet::labels)
/// and [`class_ids`](DataSet::class_ids) always stay in file order; shuffling
/// only affects the order in which [`next_batch`](DataSet::next_batch) hands
/// out examples (unlike TensorFlow, which permutes its stored arrays).
#[derive(Clone, Debug)]
pub struct DataSet {
    images: Images,
    labels: ArrayD<f32>,
    class_ids: Vec<u8>,
    rng: ChaCha8Rng,
    order: Vec<usize>,
    index_in_epoch: usize,
    epochs_completed: usize,
}

/// The stored images: floats as given, or raw bytes read as `byte / 255` (a quarter of the
/// memory: MNIST's 70,000 images take 55 MB instead of 220 MB).
#[derive(Clone, Debug)]
enum Images {
    F32(Array2<f32>),
    Bytes(Array2<u8>),
}

impl Images {
    fn nrows(&self) -> usize {
        match self {
            Images::F32(a) => a.nrows(),
            Images::Bytes(a) => a.nrows(),
        }
    }

    fn select(&self, idx: &[usize]) -> Array2<f32> {
        match self {
            Images::F32(a) => a.select(Axis(0), idx),
            Images::Bytes(a) => a.select(Axis(0), idx).mapv(to_unit),
        }
    }

    /// The images at `idx`, kept in their stored form.
    fn subset(&self, idx: &[usize]) -> Images {
        match self {
            Images::F32(a) => Images::F32(a.select(Axis(0), idx)),
            Images::Bytes(a) => Images::Bytes(a.select(Axis(0), idx)),
        }
    }

    fn rows(&self, rows: Range<usize>) -> Array2<f32> {
        match self {
            Images::F32(a) => a.slice(s![rows, ..]).to_owned(),
            Images::Bytes(a) => a.slice(s![rows, ..]).mapv(to_unit),
        }
    }
}

/// A pixel byte as a value in [0, 1], `byte / 255` correctly rounded.
fn to_unit(p: u8) -> f32 {
    f32::from(p) / 255.0
}

impl DataSet {
    /// Builds a data set from images `[n, features]`, labels (`[n]` class ids
    /// as `f32`, or one-hot `[n, classes]`, or any shape whose first axis is
    /// `n`) and the raw class ids (`n` of them).
    ///
    /// `seed` seeds the ChaCha8 generator that shuffles the examples before
    /// the first epoch and before each later one.
    ///
    /// Fails with [`Error::InvalidDataSet`] if the first dimensions disagree or
    /// `labels` is 0-dimensional.
    pub fn new(
        images: Array2<f32>,
        labels: ArrayD<f32>,
        class_ids: Vec<u8>,
        seed: u64,
    ) -> Result<DataSet, Error> {
        Self::build(Images::F32(images), labels, class_ids, seed)
    }

    /// Like [`DataSet::new`], from pixel bytes that read as `byte / 255`: the images are kept
    /// as bytes (a quarter of the memory) and converted when handed out.
    pub fn from_bytes(
        images: Array2<u8>,
        labels: ArrayD<f32>,
        class_ids: Vec<u8>,
        seed: u64,
    ) -> Result<DataSet, Error> {
        Self::build(Images::Bytes(images), labels, class_ids, seed)
    }

    fn build(
        images: Images,
        labels: ArrayD<f32>,
        class_ids: Vec<u8>,
        seed: u64,
    ) -> Result<DataSet, Error> {
        let n = images.nrows();
        if labels.ndim() == 0 {
            return Err(Error::InvalidDataSet(
                "labels must have at least one dimension".into(),
            ));
        }
        if labels.shape()[0] != n || class_ids.len() != n {
            return Err(Error::InvalidDataSet(format!(
                "{} images, {} labels and {} class ids",
                n,
                labels.shape()[0],
                class_ids.len()
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        Ok(DataSet {
            images,
            labels,
            class_ids,
            rng,
            order,
            index_in_epoch: 0,
            epochs_completed: 0,
        })
    }

    /// All images, `[n, 784]` for MNIST, pixel values scaled to `[0, 1]`, in file order.
    /// A fresh array: for large splits prefer [`DataSet::images_rows`] in chunks.
    pub fn images(&self) -> Array2<f32> {
        self.images.rows(0..self.num_examples())
    }

    /// The images of rows `rows` (file order), e.g. to evaluate a test set in chunks.
    /// Panics if the range is out of bounds, as slicing does.
    pub fn images_rows(&self, rows: Range<usize>) -> Array2<f32> {
        self.images.rows(rows)
    }

    /// All labels in file order: one-hot `[n, 10]`, or with `one_hot = false`
    /// the class ids as `f32` with shape `[n]`.
    pub fn labels(&self) -> &ArrayD<f32> {
        &self.labels
    }

    /// The raw class ids (0..=9 for MNIST) in file order, whatever `one_hot` was.
    pub fn class_ids(&self) -> &[u8] {
        &self.class_ids
    }

    /// Number of examples.
    pub fn num_examples(&self) -> usize {
        self.images.nrows()
    }

    /// Number of epochs finished so far by [`next_batch`](DataSet::next_batch).
    ///
    /// As in TensorFlow, an epoch counts as finished when a batch needs an
    /// example beyond its end, not when its last example is handed out.
    pub fn epochs_completed(&self) -> usize {
        self.epochs_completed
    }

    /// Position of the next example within the current epoch's order.
    pub fn index_in_epoch(&self) -> usize {
        self.index_in_epoch
    }

    /// The permutation (indices into file order) of the current epoch: the
    /// next batch starts at `order()[index_in_epoch()]`.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Shard `index` of `num_shards`: the examples whose file position is `index` modulo
    /// `num_shards` (TensorFlow's `Dataset.shard`), for data-parallel training where each
    /// process reads its own part of an epoch. The shards of `0..num_shards` are disjoint and
    /// together hold every example once. The shard shuffles with a generator drawn from this
    /// data set's, differing by `index`.
    ///
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use rustflow_mnist::DataSet;
    /// let ds = DataSet::new(Array2::zeros((5, 1)), Array1::zeros(5).into_dyn(), vec![0; 5], 0).unwrap();
    /// assert_eq!(ds.shard(0, 2).unwrap().num_examples(), 3);
    /// assert_eq!(ds.shard(1, 2).unwrap().num_examples(), 2);
    /// assert!(ds.shard(2, 2).is_err());
    /// ```
    pub fn shard(&self, index: usize, num_shards: usize) -> Result<DataSet, Error> {
        if index >= num_shards {
            return Err(Error::InvalidDataSet(format!(
                "shard {index} of {num_shards}: the index must be below the number of shards"
            )));
        }
        let idx: Vec<usize> = (index..self.num_examples()).step_by(num_shards).collect();
        let class_ids = idx.iter().map(|&i| self.class_ids[i]).collect();
        let seed = rand::Rng::gen::<u64>(&mut self.rng.clone()) ^ index as u64;
        Self::build(
            self.images.subset(&idx),
            self.labels.select(Axis(0), &idx),
            class_ids,
            seed,
        )
    }

    /// The next `batch_size` examples, as TensorFlow's `DataSet.next_batch`:
    /// images `[batch_size, features]` and labels `[batch_size, ...]`.
    ///
    /// Examples are taken in the order of the current epoch's permutation. A
    /// batch that runs past the end of the epoch is the rest of the old epoch
    /// followed by the start of a freshly shuffled new one, and
    /// `epochs_completed` goes up by one.
    ///
    /// Choices where TensorFlow is silent or odd:
    /// * `batch_size == 0` returns empty arrays and changes nothing;
    /// * `batch_size > num_examples()` still returns exactly `batch_size`
    ///   examples, wrapping over as many reshuffled epochs as needed (each
    ///   wrap counts one finished epoch), so examples repeat within the batch;
    /// * an empty data set returns empty arrays for any `batch_size`.
    pub fn next_batch(&mut self, batch_size: usize) -> (Array2<f32>, ArrayD<f32>) {
        let n = self.num_examples();
        let take_total = if n == 0 { 0 } else { batch_size };
        let mut idx = Vec::with_capacity(take_total);
        let mut remaining = take_total;
        while remaining > 0 {
            if self.index_in_epoch == n {
                self.epochs_completed += 1;
                self.order.shuffle(&mut self.rng);
                self.index_in_epoch = 0;
            }
            let take = remaining.min(n - self.index_in_epoch);
            idx.extend_from_slice(&self.order[self.index_in_epoch..self.index_in_epoch + take]);
            self.index_in_epoch += take;
            remaining -= take;
        }
        (self.images.select(&idx), self.labels.select(Axis(0), &idx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, IxDyn};

    /// n examples whose single feature and label both equal the index.
    fn ds(n: usize, seed: u64) -> DataSet {
        let images = Array2::from_shape_fn((n, 2), |(i, j)| (i * 10 + j) as f32);
        let labels = Array1::from_shape_fn(n, |i| i as f32).into_dyn();
        DataSet::new(images, labels, (0..n).map(|i| i as u8).collect(), seed).unwrap()
    }

    fn ids(labels: &ArrayD<f32>) -> Vec<usize> {
        labels.iter().map(|&x| x as usize).collect()
    }

    fn is_perm(v: &[usize], n: usize) -> bool {
        let mut s = v.to_vec();
        s.sort_unstable();
        s == (0..n).collect::<Vec<_>>()
    }

    #[test]
    fn shards_are_disjoint_and_complete() {
        for (n, k) in [(10, 3), (7, 7), (5, 8), (0, 2), (60, 1)] {
            let d = ds(n, 4);
            let mut all = Vec::new();
            for r in 0..k {
                let s = d.shard(r, k).unwrap();
                let got = ids(s.labels());
                assert!(got.iter().all(|&i| i % k == r), "shard {r} of {k}: {got:?}");
                assert_eq!(
                    s.class_ids()
                        .iter()
                        .map(|&c| c as usize)
                        .collect::<Vec<_>>(),
                    got
                );
                assert_eq!(
                    s.images().column(0).to_vec(),
                    got.iter().map(|&i| (i * 10) as f32).collect::<Vec<_>>()
                );
                all.extend(got);
            }
            assert!(is_perm(&all, n), "{n} examples in {k} shards");
        }
        assert!(matches!(
            ds(4, 0).shard(3, 3),
            Err(Error::InvalidDataSet(_))
        ));
    }

    #[test]
    fn rejects_inconsistent_arrays() {
        let im = Array2::<f32>::zeros((3, 4));
        let r = DataSet::new(im.clone(), ArrayD::zeros(IxDyn(&[2])), vec![0; 3], 0);
        assert!(matches!(r, Err(Error::InvalidDataSet(_))));
        let r = DataSet::new(im.clone(), ArrayD::zeros(IxDyn(&[3, 10])), vec![0; 2], 0);
        assert!(matches!(r, Err(Error::InvalidDataSet(_))));
        let r = DataSet::new(im.clone(), ArrayD::zeros(IxDyn(&[])), vec![0; 3], 0);
        assert!(matches!(r, Err(Error::InvalidDataSet(_))));
        assert!(DataSet::new(im, ArrayD::zeros(IxDyn(&[3, 10])), vec![0; 3], 0).is_ok());
    }

    #[test]
    fn accessors_keep_file_order() {
        let mut d = ds(7, 1);
        d.next_batch(5);
        assert_eq!(d.num_examples(), 7);
        assert_eq!(d.class_ids(), &[0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(d.images()[[3, 1]], 31.0);
        assert_eq!(ids(d.labels()), vec![0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn rows_stay_together() {
        let mut d = ds(13, 5);
        for _ in 0..10 {
            let (im, lab) = d.next_batch(4);
            for (row, &l) in im.rows().into_iter().zip(lab.iter()) {
                assert_eq!(row[0], l * 10.0);
                assert_eq!(row[1], l * 10.0 + 1.0);
            }
        }
    }

    #[test]
    fn epoch_crossing_batch_composition() {
        let mut d = ds(10, 42);
        let first = d.order().to_vec();
        assert!(is_perm(&first, 10));
        let (_, l1) = d.next_batch(4);
        assert_eq!(ids(&l1), first[0..4]);
        let (_, l2) = d.next_batch(4);
        assert_eq!(ids(&l2), first[4..8]);
        assert_eq!(d.epochs_completed(), 0);
        // Crosses the end: 2 from the old epoch + 2 from the new permutation.
        let (im3, l3) = d.next_batch(4);
        let second = d.order().to_vec();
        assert!(is_perm(&second, 10));
        assert_ne!(first, second, "reshuffled for the new epoch");
        assert_eq!(d.epochs_completed(), 1);
        assert_eq!(d.index_in_epoch(), 2);
        let mut want = first[8..10].to_vec();
        want.extend_from_slice(&second[0..2]);
        assert_eq!(ids(&l3), want);
        assert_eq!(im3.shape(), &[4, 2]);
        let (_, l4) = d.next_batch(3);
        assert_eq!(ids(&l4), second[2..5]);
    }

    #[test]
    fn exact_epoch_end_counts_lazily() {
        let mut d = ds(6, 3);
        let first = d.order().to_vec();
        let (_, l) = d.next_batch(6);
        assert_eq!(ids(&l), first);
        // Like TF: the epoch is counted when the next batch starts.
        assert_eq!(d.epochs_completed(), 0);
        let (_, l) = d.next_batch(1);
        assert_eq!(d.epochs_completed(), 1);
        assert_eq!(ids(&l), d.order()[..1]);
    }

    #[test]
    fn every_example_once_per_epoch() {
        let mut d = ds(20, 9);
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.extend(ids(&d.next_batch(4).1));
        }
        assert!(is_perm(&seen, 20));
        assert_eq!(d.epochs_completed(), 0);
    }

    #[test]
    fn deterministic_for_a_seed_and_different_across_seeds() {
        let run = |seed| {
            let mut d = ds(50, seed);
            (0..30)
                .flat_map(|_| ids(&d.next_batch(7).1))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn batch_size_zero_is_empty() {
        let mut d = ds(5, 0);
        let (im, lab) = d.next_batch(0);
        assert_eq!(im.shape(), &[0, 2]);
        assert_eq!(lab.shape(), &[0]);
        assert_eq!(d.index_in_epoch(), 0);
        assert_eq!(d.epochs_completed(), 0);
    }

    #[test]
    fn batch_larger_than_data_set_wraps() {
        let mut d = ds(3, 11);
        let o1 = d.order().to_vec();
        let (im, lab) = d.next_batch(8);
        assert_eq!(im.shape(), &[8, 2]);
        assert_eq!(lab.shape(), &[8]);
        let got = ids(&lab);
        assert_eq!(got[..3], o1[..]);
        assert!(is_perm(&got[3..6], 3));
        assert_eq!(got[6..8], d.order()[..2]);
        assert_eq!(d.epochs_completed(), 2);
        assert_eq!(d.index_in_epoch(), 2);
    }

    #[test]
    fn empty_data_set_never_loops() {
        let mut d = DataSet::new(
            Array2::zeros((0, 4)),
            ArrayD::zeros(IxDyn(&[0, 10])),
            vec![],
            0,
        )
        .unwrap();
        let (im, lab) = d.next_batch(5);
        assert_eq!(im.shape(), &[0, 4]);
        assert_eq!(lab.shape(), &[0, 10]);
        assert_eq!(d.epochs_completed(), 0);
    }

    #[test]
    fn one_hot_labels_are_gathered_by_row() {
        let n = 4;
        let mut oh = ArrayD::<f32>::zeros(IxDyn(&[n, 10]));
        for i in 0..n {
            oh[[i, i + 2]] = 1.0;
        }
        let mut d = DataSet::new(Array2::zeros((n, 1)), oh, vec![2, 3, 4, 5], 4).unwrap();
        let order = d.order().to_vec();
        let (_, lab) = d.next_batch(4);
        assert_eq!(lab.shape(), &[4, 10]);
        for (r, &i) in order.iter().enumerate() {
            assert_eq!(lab[[r, i + 2]], 1.0);
            assert_eq!(lab.index_axis(Axis(0), r).sum(), 1.0);
        }
    }
}
