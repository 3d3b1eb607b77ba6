//! A start-up cache for the extractor of the default gazetteer.
//!
//! Building that extractor (parsing the embedded gazetteer files, generating the spelling
//! variants, folding every name, building the name index and the first-word filters) takes about
//! 20 ms, which `alam tag` would otherwise spend on every run before the first document. The
//! cache file holds the result: the gazetteer's entities and the matcher's tables, the name
//! index among them, and the person rules' folded words. Reading it back takes a few milliseconds.
//!
//! A cache file is used only by the program that wrote it, with the same options: its key names
//! the running executable (path, size and modification time: a rebuilt program, whose code, data
//! or dependencies may differ, never reads an older program's file), the format version and the
//! builder's options. The payload carries a CRC-32, so a damaged file is rebuilt, never trusted.
//! Files are written to a temporary file and renamed into place, so a reader never sees half a
//! file; the oldest files beyond [`KEEP`] are removed when a new one is written.
//!
//! Layout: `MAGIC`, the key (length-prefixed), the payload's length (u64) and CRC-32 (u32), the
//! payload. The payload is three parts encoded apart, each but the last after its length (u64):
//! the gazetteer, the matcher, the person rules (folded; no words when the extractor guesses no
//! persons). Each part is a [`Writer`]'s output: its numbers and
//! lengths (little-endian; lists and strings are counted with a u32), then the bytes of all its
//! strings together, which are checked as UTF-8 in one go.

use std::fs;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

use rustc_hash::FxHasher;

/// The first bytes of every cache file; the last two digits are the format version, raised
/// whenever what is written changes.
const MAGIC: &[u8; 8] = b"ALAMXC07";

/// At most this many cache files are kept in a directory (one per program and options).
pub(crate) const KEEP: usize = 4;

/// What [`ExtractorBuilder::build_embedded_cached`](crate::ExtractorBuilder::build_embedded_cached)
/// did with its cache.
#[derive(Debug)]
#[non_exhaustive]
pub enum CacheStatus {
    /// The extractor was read from this file.
    Loaded(PathBuf),
    /// The extractor was built and written to this file (there was none, or it could not be
    /// used).
    Written(PathBuf),
    /// The extractor was built, and the cache could not be written or is not used for these
    /// options: why.
    Unavailable(String),
}

/// The cache's key: everything the cached extractor depends on besides the data compiled into
/// the program.
pub(crate) fn key(options: &str) -> Result<Vec<u8>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate the program: {e}"))?;
    let meta = fs::metadata(&exe).map_err(|e| format!("{}: {e}", exe.display()))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .ok_or_else(|| format!("{}: no modification time", exe.display()))?;
    let mut w = Writer::default();
    w.str(&exe.to_string_lossy());
    w.u64(meta.len());
    w.u64(modified.as_secs());
    w.u32(modified.subsec_nanos());
    w.str(options);
    Ok(w.finish())
}

/// The file for `key` in `dir`.
pub(crate) fn path(dir: &Path, key: &[u8]) -> PathBuf {
    let mut hasher = FxHasher::default();
    hasher.write(key);
    dir.join(format!("extractor-{:016x}.bin", hasher.finish()))
}

/// The payload of the cache file at `path`, if there is one written under `key` and intact: the
/// file's bytes and where the payload starts in them.
///
/// The file is mapped, not read: its pages are the page cache's, where reading copied 2.7 MB
/// into fresh memory (start-up 5.9 -> 5.3 ms of CPU).
pub(crate) fn read(path: &Path, key: &[u8]) -> Option<(memmap2::Mmap, usize)> {
    let file = fs::File::open(path).ok()?;
    // SAFETY: the mapping is valid while the file's bytes stay as they are. Cache files are
    // never written in place: `write` fills a temporary file and renames it over the old one,
    // and `prune` unlinks, so a mapped file's inode keeps its bytes (and, unlinked, lives on
    // until unmapped). Only a process writing or truncating the file by hand in the cache
    // directory could change them under us, and the mapping is dropped once the extractor is
    // decoded (a few milliseconds).
    let data = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let header = MAGIC.len() + 4 + key.len() + 8 + 4;
    if data.len() < header
        || &data[..MAGIC.len()] != MAGIC
        || data[MAGIC.len()..MAGIC.len() + 4] != (key.len() as u32).to_le_bytes()
        || &data[MAGIC.len() + 4..header - 12] != key
    {
        return None;
    }
    let len = u64::from_le_bytes(data[header - 12..header - 4].try_into().ok()?);
    let crc = u32::from_le_bytes(data[header - 4..header].try_into().ok()?);
    let payload = &data[header..];
    (payload.len() as u64 == len && crc32fast::hash(payload) == crc).then_some((data, header))
}

/// Writes `payload` under `key` to `path` (through a temporary file in the same directory,
/// renamed into place), then removes the oldest cache files beyond [`KEEP`].
pub(crate) fn write(path: &Path, key: &[u8], payload: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&(key.len() as u32).to_le_bytes());
    header.extend_from_slice(key);
    header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    header.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    file.write_all(&header)?;
    file.write_all(payload)?;
    file.persist(path).map_err(|e| e.error)?;
    prune(dir, path);
    Ok(())
}

/// Removes the oldest `extractor-*.bin` files of `dir` beyond [`KEEP`], never `keep`, and the
/// temporary files of writers killed before their rename, when over an hour old. Errors are
/// ignored: another process may be pruning too.
fn prune(dir: &Path, keep: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let modified = |p: &Path| fs::metadata(p).ok()?.modified().ok();
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(time) = modified(&path) else { continue };
        if name.starts_with("extractor-") && name.ends_with(".bin") && path != keep {
            files.push((time, path));
        } else if name.starts_with(".tmp")
            && time.elapsed().is_ok_and(|age| age > std::time::Duration::from_secs(3600))
        {
            let _ = fs::remove_file(&path);
        }
    }
    if files.len() >= KEEP {
        files.sort();
        for (_, p) in &files[..files.len() + 1 - KEEP] {
            let _ = fs::remove_file(p);
        }
    }
}

/// The value `read` makes of everything a [`Writer`] encoded.
pub(crate) fn read_all<T>(
    encoded: &[u8],
    read: impl FnOnce(&mut Reader<'_>) -> Result<T, Malformed>,
) -> Result<T, Malformed> {
    let mut r = Reader::new(encoded)?;
    let value = read(&mut r)?;
    if r.is_empty() {
        Ok(value)
    } else {
        Err(Malformed)
    }
}

/// Writes values in the cache's encoding: numbers and lengths in one stream, the strings' bytes
/// in another, so that a reader checks all the text at once (one UTF-8 validation of the whole
/// instead of one per string).
#[derive(Default)]
pub(crate) struct Writer {
    data: Vec<u8>,
    strings: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.data.push(v);
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.data.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.data.extend_from_slice(&v.to_le_bytes());
    }
    /// A length (lists and strings are far below 4 G items; the cache is never written
    /// otherwise).
    pub(crate) fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).expect("cache lists hold fewer than 4 G items"));
    }
    pub(crate) fn str(&mut self, v: &str) {
        self.len(v.len());
        self.strings.extend_from_slice(v.as_bytes());
    }
    pub(crate) fn opt_str(&mut self, v: Option<&str>) {
        self.u8(u8::from(v.is_some()));
        if let Some(s) = v {
            self.str(s);
        }
    }
    /// The encoded values: the first stream's length (u64), the first stream, the strings.
    pub(crate) fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.data.len() + self.strings.len());
        out.extend_from_slice(&(self.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// Strings kept back to back in one buffer, read by index: one allocation where a `Vec<String>`
/// made one per string (start-up reads tens of thousands of them from the cache).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Packed {
    text: Box<str>,
    /// The end of each string in `text`; each starts where the one before ends.
    ends: Vec<u32>,
}

impl Packed {
    /// The strings of `strings`, in order.
    ///
    /// # Panics
    /// When they hold 4 GiB of text or more together.
    pub(crate) fn new<'a>(strings: impl IntoIterator<Item = &'a str>) -> Packed {
        let (mut text, mut ends) = (String::new(), Vec::new());
        for s in strings {
            text.push_str(s);
            ends.push(u32::try_from(text.len()).expect("packed strings hold less than 4 GiB"));
        }
        Packed { text: text.into_boxed_str(), ends }
    }
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }
    /// String `i`.
    pub(crate) fn get(&self, i: usize) -> &str {
        &self.text[self.span(i)]
    }
    /// Where string `i` lies in [`Packed::text`].
    pub(crate) fn span(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        start..self.ends[i] as usize
    }
    /// The strings back to back.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// The payload ended early or holds a value this program cannot have written.
#[derive(Debug)]
pub(crate) struct Malformed;

/// The little-endian u32 at `at` in the bytes of [`Reader::items`].
///
/// # Panics
/// When fewer than four bytes follow `at`: callers read within items of a fixed size.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

/// Reads values that a [`Writer`] wrote, in the same order.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    strings: &'a str,
}

impl<'a> Reader<'a> {
    /// The reader of what [`Writer::finish`] returned.
    pub(crate) fn new(encoded: &'a [u8]) -> Result<Reader<'a>, Malformed> {
        let (len, rest) = encoded.split_first_chunk::<8>().ok_or(Malformed)?;
        let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| Malformed)?;
        if len > rest.len() {
            return Err(Malformed);
        }
        let (data, strings) = rest.split_at(len);
        let strings = simdutf8::basic::from_utf8(strings).map_err(|_| Malformed)?;
        Ok(Reader { data, strings })
    }
    /// Whether every value was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty() && self.strings.is_empty()
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.data.len() {
            return Err(Malformed);
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn bool(&mut self) -> Result<bool, Malformed> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Malformed),
        }
    }
    pub(crate) fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| Malformed)?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| Malformed)?))
    }
    /// The bytes of `n` items of `item_bytes` each, taken at once (a loop over them decodes
    /// without a check per number).
    pub(crate) fn items(&mut self, n: usize, item_bytes: usize) -> Result<&'a [u8], Malformed> {
        self.take(n.checked_mul(item_bytes).ok_or(Malformed)?)
    }
    /// `n` u64 numbers.
    pub(crate) fn u64s(&mut self, n: usize) -> Result<Vec<u64>, Malformed> {
        let bytes = self.items(n, 8)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(*c.first_chunk().expect("8")))
            .collect())
    }
    /// A length, checked against the numbers left (each item takes at least `item_bytes` of
    /// them), so that a damaged length cannot ask for a huge allocation.
    pub(crate) fn len(&mut self, item_bytes: usize) -> Result<usize, Malformed> {
        let n = self.u32()? as usize;
        if n.saturating_mul(item_bytes.max(1)) > self.data.len() {
            return Err(Malformed);
        }
        Ok(n)
    }
    pub(crate) fn str(&mut self) -> Result<&'a str, Malformed> {
        let n = self.u32()? as usize;
        // `get` also refuses a cut inside a character.
        let s = self.strings.get(..n).ok_or(Malformed)?;
        self.strings = &self.strings[n..];
        Ok(s)
    }
    /// `n` strings written one after another, read as one: their text and the end of each in
    /// it (the lengths are in the numbers, the bytes back to back in the strings).
    pub(crate) fn packed(&mut self, n: usize) -> Result<Packed, Malformed> {
        let mut ends = Vec::with_capacity(n);
        let mut end = 0u32;
        for len in self.items(n, 4)?.chunks_exact(4) {
            end = end.checked_add(u32_at(len, 0)).ok_or(Malformed)?;
            ends.push(end);
        }
        let text = self.strings.get(..end as usize).ok_or(Malformed)?;
        if !ends.iter().all(|&e| text.is_char_boundary(e as usize)) {
            return Err(Malformed);
        }
        self.strings = &self.strings[end as usize..];
        Ok(Packed { text: text.into(), ends })
    }
    pub(crate) fn string(&mut self) -> Result<String, Malformed> {
        self.str().map(str::to_string)
    }
    pub(crate) fn opt_string(&mut self) -> Result<Option<String>, Malformed> {
        Ok(if self.bool()? { Some(self.string()?) } else { None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_back_only_whole_and_under_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = b"key".to_vec();
        let path = path(dir.path(), &key);
        let payload =
            |found: Option<(memmap2::Mmap, usize)>| found.map(|(data, at)| data[at..].to_vec());
        assert_eq!(payload(read(&path, &key)), None, "no file yet");
        write(&path, &key, b"payload").unwrap();
        assert_eq!(payload(read(&path, &key)).as_deref(), Some(&b"payload"[..]));
        assert_eq!(payload(read(&path, b"other key")), None);
        let mut data = fs::read(&path).unwrap();
        let last = data.len() - 1;
        data[last] ^= 1;
        fs::write(&path, &data).unwrap();
        assert_eq!(payload(read(&path, &key)), None, "a flipped bit fails the CRC");
        fs::write(&path, &data[..last]).unwrap();
        assert_eq!(payload(read(&path, &key)), None, "a truncated file");
        fs::write(&path, b"").unwrap();
        assert_eq!(payload(read(&path, &key)), None, "an empty file");
    }

    #[test]
    fn writing_keeps_at_most_keep_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("unrelated.txt"), "x").unwrap();
        // A writer's temporary file: left while fresh (its writer may be at work), removed when
        // over an hour old (its writer was killed).
        for name in [".tmpFRESH", ".tmpSTALE"] {
            fs::write(dir.path().join(name), "half a file").unwrap();
        }
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        let stale = fs::File::options().write(true).open(dir.path().join(".tmpSTALE")).unwrap();
        stale.set_modified(two_hours_ago).unwrap();
        for i in 0..KEEP + 3 {
            let key = format!("key {i}").into_bytes();
            let path = path(dir.path(), &key);
            write(&path, &key, b"payload").unwrap();
            assert!(read(&path, &key).is_some_and(|(data, at)| &data[at..] == b"payload"));
        }
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.iter().filter(|n| n.starts_with("extractor-")).count(), KEEP);
        assert!(names.contains(&"unrelated.txt".to_string()));
        assert!(names.contains(&".tmpFRESH".to_string()));
        assert!(!names.contains(&".tmpSTALE".to_string()));
    }

    #[test]
    fn the_reader_reads_what_the_writer_wrote_and_refuses_damage() {
        let mut w = Writer::default();
        w.str("سلام");
        w.opt_str(None);
        w.opt_str(Some("x"));
        w.u64(7);
        for s in ["موسكو", "", "Bamako"] {
            w.str(s);
        }
        let encoded = w.finish();
        let mut r = Reader::new(&encoded).unwrap();
        assert_eq!(r.str().unwrap(), "سلام");
        assert_eq!(r.opt_string().unwrap(), None);
        assert_eq!(r.opt_string().unwrap().as_deref(), Some("x"));
        assert_eq!(r.u64().unwrap(), 7);
        let packed = r.packed(3).unwrap();
        assert_eq!(packed, Packed::new(["موسكو", "", "Bamako"]));
        assert_eq!(packed.iter().collect::<Vec<_>>(), ["موسكو", "", "Bamako"]);
        assert_eq!((packed.len(), packed.get(2)), (3, "Bamako"));
        assert!(r.is_empty());
        assert!(r.u8().is_err());
        // A length beyond the data, a string cut inside a letter, text that is not UTF-8.
        let mut w = Writer::default();
        w.u32(1000);
        w.u8(0);
        assert!(Reader::new(&w.finish()).unwrap().len(1).is_err());
        let mut w = Writer::default();
        w.len(1);
        w.str("س");
        let encoded = w.finish();
        let mut r = Reader::new(&encoded).unwrap();
        assert!(r.str().is_err(), "one byte of a two-byte letter");
        let mut w = Writer::default();
        w.len(1);
        w.len(1);
        w.str("س");
        let cut = w.finish();
        let mut r = Reader::new(&cut).unwrap();
        assert!(r.packed(2).is_err(), "a two-byte letter cut after its first byte");
        let mut r = Reader::new(&encoded).unwrap();
        assert!(r.packed(2).is_err(), "more bytes than the strings hold");
        let mut bad = encoded.clone();
        *bad.last_mut().unwrap() = 0xFF;
        assert!(Reader::new(&bad).is_err());
        assert!(Reader::new(&encoded[..4]).is_err());
    }
}
