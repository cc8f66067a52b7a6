import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FilePermission;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.SocketPermission;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Permission;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * Runs generated methods against their reference methods, one item after another, in one
 * JVM. Started by lmtune.java_checks as
 *   java -Djava.security.manager=allow -cp CLASSES RunChecks ITEMS TIME_LIMIT_MS SKIP
 * with both classes of every item compiled into CLASSES. ITEMS has one tab-separated line
 * per item: id, kind (call | getter | setter), reference class, generated class, method
 * name, field name (getter and setter; "-" otherwise), and the inputs: cases joined by
 * "|", a case's arguments by ";", each argument tagged: i:INT d:DOUBLE z:BOOLEAN
 * s:BASE64-UTF8 a:INT,INT,... (an int array) or n (null).
 *
 * Prints one line per item: id, whether the method the reference defines exists with the
 * same return and parameter types (1/0), a reason code and a detail. Model-written code
 * runs in a thread of its own group, under a security manager that denies it exiting the
 * JVM, writing or deleting files, starting processes, opening sockets, creating threads
 * and replacing System.out. When an item overruns its time limit the harness reports it
 * and halts: a running thread cannot be stopped safely, so the caller starts a new JVM for
 * the items after it.
 */
public class RunChecks {
    static final ThreadGroup SANDBOX = new ThreadGroup("sandbox");
    static final Capture OUT = new Capture(1 << 16);
    static final Capture ERR = new Capture(1 << 12);

    /** A bounded buffer for what the methods print: an endless printer fills it, not the heap. */
    static final class Capture extends OutputStream {
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        private final int limit;
        private boolean overflow;

        Capture(int limit) {
            this.limit = limit;
        }

        @Override
        public synchronized void write(int b) {
            if (buffer.size() < limit) {
                buffer.write(b);
            } else {
                overflow = true;
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            int room = Math.max(0, Math.min(len, limit - buffer.size()));
            buffer.write(b, off, room);
            overflow |= room < len;
        }

        synchronized String take() {
            String text = buffer.toString(StandardCharsets.UTF_8) + (overflow ? "[output cut]" : "");
            buffer.reset();
            overflow = false;
            return text;
        }
    }

    static final class Sandbox extends SecurityManager {
        static boolean inside() {
            ThreadGroup group = Thread.currentThread().getThreadGroup();
            return group != null && SANDBOX.parentOf(group);
        }

        @Override
        public void checkPermission(Permission permission) {
            if (!inside()) {
                return;
            }
            String name = permission.getName();
            if (permission instanceof FilePermission) {
                String actions = permission.getActions();
                if (actions.contains("write") || actions.contains("delete") || actions.contains("execute")) {
                    throw new SecurityException("file " + actions + " denied: " + name);
                }
            } else if (permission instanceof SocketPermission) {
                throw new SecurityException("network denied: " + name);
            } else if (permission instanceof RuntimePermission && (name.startsWith("exitVM")
                    || name.equals("setSecurityManager") || name.equals("setIO") || name.startsWith("loadLibrary")
                    || name.equals("modifyThread") || name.equals("modifyThreadGroup") || name.equals("stopThread"))) {
                throw new SecurityException(name + " denied");
            }
        }

        @Override
        public void checkPermission(Permission permission, Object context) {
            checkPermission(permission);
        }

        @Override
        public void checkAccess(ThreadGroup group) {
            if (inside()) {
                throw new SecurityException("creating threads denied");
            }
        }

        @Override
        public void checkAccess(Thread thread) {
            if (inside() && thread.getThreadGroup() != null && !SANDBOX.parentOf(thread.getThreadGroup())) {
                throw new SecurityException("modifying threads denied");
            }
        }
    }

    /** The observable behaviour of one call: what it returned (or left in the field) and printed. */
    record Outcome(String value, String printed, Throwable thrown) {
    }

    static final class Verdict {
        String reason = "harness_error"; // until the comparison runs to its end
        String detail = "the comparison stopped early";
    }

    public static void main(String[] args) throws Exception {
        List<String> lines = Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8);
        long limit = Long.parseLong(args[1]);
        int skip = Integer.parseInt(args[2]);
        PrintStream report = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(new PrintStream(OUT, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(ERR, true, StandardCharsets.UTF_8));
        System.setSecurityManager(new Sandbox());
        for (String line : lines.subList(skip, lines.size())) {
            report.println(check(line.split("\t", -1), limit, report));
        }
    }

    static String check(String[] item, long limit, PrintStream report) {
        String id = item[0], kind = item[1], methodName = item[4], fieldName = item[5];
        ClassLoader loader = RunChecks.class.getClassLoader();
        Class<?> reference, generated;
        try {
            reference = Class.forName(item[2], false, loader);
            generated = Class.forName(item[3], false, loader);
        } catch (Throwable e) {
            return line(id, false, "not_loadable", e.toString());
        }
        Method expected = onlyMethod(reference, methodName);
        Method actual;
        try {
            actual = generated.getDeclaredMethod(methodName, expected.getParameterTypes());
        } catch (Throwable e) {
            actual = null;
        }
        if (actual == null || actual.getReturnType() != expected.getReturnType()) {
            return line(id, false, "wrong_signature", "wanted " + describe(expected) + "; found "
                    + Arrays.stream(generated.getDeclaredMethods()).map(RunChecks::describe).toList());
        }
        Field expectedField = null, actualField = null;
        if (!kind.equals("call")) {
            try {
                expectedField = reference.getDeclaredField(fieldName);
                actualField = generated.getDeclaredField(fieldName);
            } catch (NoSuchFieldException e) {
                actualField = null;
            }
            if (actualField == null || actualField.getType() != expectedField.getType()
                    || Modifier.isStatic(actualField.getModifiers()) != Modifier.isStatic(expectedField.getModifiers())) {
                return line(id, true, "missing_field", "wanted field " + expectedField.getType().getSimpleName() + " " + fieldName);
            }
            expectedField.setAccessible(true);
            actualField.setAccessible(true);
        }
        expected.setAccessible(true);
        actual.setAccessible(true);
        Constructor<?> makeReference, makeGenerated;
        try {
            makeReference = reference.getDeclaredConstructor();
            makeGenerated = generated.getDeclaredConstructor();
            makeReference.setAccessible(true);
            makeGenerated.setAccessible(true);
        } catch (Throwable e) {
            return line(id, true, "not_loadable", "no constructor without arguments: " + e);
        }
        // A getter's input is the value its field holds.
        Class<?>[] types = kind.equals("getter") ? new Class<?>[] {expectedField.getType()} : expected.getParameterTypes();
        String[] cases = item[6].split("\\|", -1);
        Verdict verdict = new Verdict();
        Field referenceField = expectedField, generatedField = actualField;
        Method referenceMethod = expected, generatedMethod = actual;
        Thread worker = new Thread(SANDBOX, () -> {
            try {
                compare(kind, methodName, types, cases, makeReference, referenceMethod, referenceField,
                        makeGenerated, generatedMethod, generatedField, verdict);
            } catch (Throwable e) { // thrown by the harness itself, out of memory most likely
                verdict.reason = e instanceof OutOfMemoryError ? "out_of_memory" : "harness_error";
                verdict.detail = e.toString();
            }
        });
        worker.start();
        try {
            worker.join(limit);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (worker.isAlive()) {
            report.println(line(id, true, "timeout", "still running after " + limit + " ms"));
            report.flush();
            Runtime.getRuntime().halt(3);
        }
        return line(id, true, verdict.reason, verdict.detail);
    }

    static void compare(String kind, String methodName, Class<?>[] types, String[] cases,
            Constructor<?> makeReference, Method referenceMethod, Field referenceField,
            Constructor<?> makeGenerated, Method generatedMethod, Field generatedField, Verdict verdict) {
        int compared = 0;
        for (String encoded : cases) {
            Outcome want = call(kind, makeReference, referenceMethod, referenceField, decodeAll(encoded, types));
            if (want.thrown() != null) {
                continue; // the reference is undefined on this input: no expectation
            }
            compared++;
            // Decoded again: a method that changes its array argument changes only its own copy.
            Outcome got = call(kind, makeGenerated, generatedMethod, generatedField, decodeAll(encoded, types));
            String input = methodName + "(" + String.join(", ",
                    Arrays.stream(decodeAll(encoded, types)).map(RunChecks::render).toList()) + ")";
            if (got.thrown() != null) {
                Throwable cause = got.thrown();
                verdict.reason = cause instanceof OutOfMemoryError ? "out_of_memory"
                        : cause instanceof SecurityException ? "forbidden" : "exception";
                verdict.detail = input + ": " + cause;
                return;
            }
            if (!want.value().equals(got.value()) || !want.printed().equals(got.printed())) {
                verdict.reason = "wrong_output";
                verdict.detail = input + ": expected " + want.value() + " printing " + quote(want.printed())
                        + ", got " + got.value() + " printing " + quote(got.printed());
                return;
            }
        }
        verdict.reason = compared == 0 ? "no_inputs" : "ok";
        verdict.detail = compared == 0 ? "the reference throws on every input" : compared + " inputs";
    }

    static Outcome call(String kind, Constructor<?> make, Method method, Field field, Object[] arguments) {
        OUT.take();
        try {
            Object instance = make.newInstance();
            Object value;
            if (kind.equals("getter")) {
                field.set(instance, arguments[0]);
                value = method.invoke(instance);
            } else if (kind.equals("setter")) {
                method.invoke(instance, arguments[0]);
                value = field.get(instance);
            } else {
                value = method.invoke(instance, arguments);
            }
            return new Outcome(render(value), OUT.take(), null);
        } catch (Throwable e) {
            Throwable cause = e;
            while ((cause instanceof InvocationTargetException || cause instanceof ExceptionInInitializerError)
                    && cause.getCause() != null) {
                cause = cause.getCause();
            }
            OUT.take();
            return new Outcome(null, null, cause);
        }
    }

    static Method onlyMethod(Class<?> type, String name) {
        for (Method method : type.getDeclaredMethods()) {
            if (method.getName().equals(name)) {
                return method;
            }
        }
        throw new IllegalStateException("reference " + type.getName() + " has no method " + name);
    }

    static String describe(Method method) {
        return method.getReturnType().getSimpleName() + " " + method.getName() + "("
                + String.join(", ", Arrays.stream(method.getParameterTypes()).map(Class::getSimpleName).toList()) + ")";
    }

    static Object[] decodeAll(String encoded, Class<?>[] types) {
        if (types.length == 0) {
            return new Object[0];
        }
        String[] tokens = encoded.split(";", -1);
        Object[] values = new Object[types.length];
        for (int i = 0; i < types.length; i++) {
            values[i] = decode(tokens[i], types[i]);
        }
        return values;
    }

    static Object decode(String token, Class<?> type) {
        if (token.equals("n")) {
            return null;
        }
        String text = token.substring(2);
        switch (token.charAt(0)) {
            case 'i':
                return type == long.class ? (Object) Long.parseLong(text) : (Object) Integer.parseInt(text);
            case 'd':
                return Double.parseDouble(text);
            case 'z':
                return Boolean.parseBoolean(text);
            case 's':
                return new String(Base64.getDecoder().decode(text), StandardCharsets.UTF_8);
            case 'a':
                return text.isEmpty() ? new int[0] : Arrays.stream(text.split(",")).mapToInt(Integer::parseInt).toArray();
            default:
                throw new IllegalArgumentException("unknown input tag in " + token);
        }
    }

    static String render(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof int[] array) {
            return "int[]" + Arrays.toString(array);
        }
        if (value instanceof Object[] array) {
            return Arrays.deepToString(array);
        }
        if (value instanceof String text) {
            return quote(text);
        }
        return value.getClass().getSimpleName() + " " + value;
    }

    static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static String line(String id, boolean signature, String reason, String detail) {
        String clean = detail.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
        return id + "\t" + (signature ? 1 : 0) + "\t" + reason + "\t" + (clean.length() > 300 ? clean.substring(0, 300) + "..." : clean);
    }
}
