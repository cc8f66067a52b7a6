import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * Observes what one class's method does on given inputs, and reports it; it judges
 * nothing. Started by lmtune.java.checks inside an operating-system sandbox, once for all
 * reference methods and once per generated method, as
 *   java -cp PROBE:CLASSES Probe
 * and reads its standard input: a first line holding the run's nonce, then one
 * tab-separated line per item: id, kind (call | getter | setter), class name, method name,
 * the parameter types ("*": the only method of that name, for references), the field name
 * (getters and setters; "-" otherwise), the number of cases and the inputs: cases joined by "|", a case's
 * arguments by ";", each tagged i:INT d:DOUBLE z:BOOLEAN s:BASE64-UTF8 a:INT,INT,... or n.
 *
 * Every line it reports starts with the nonce, then the item id and a word:
 *   signature RETURN PARAMETERS FIELD_TYPE STATIC     the method found (and the field)
 *   no_method DECLARED                                 no such method; what the class has
 *   not_loadable ERROR                                 the class or its constructor failed
 *   start                                              the cases start now
 *   case K value SHA HEAD PRINTED_SHA PRINTED_HEAD     what case K returned and printed
 *   case K thrown out_of_memory|exception MESSAGE
 *   done
 * Values are compared by the SHA-256 of their rendering; HEAD fields are short base64
 * prefixes for messages. The process then halts, whatever threads the method left.
 * The nonce never leaves this method's locals, so code under test that writes to the real
 * standard output cannot make a line the caller accepts.
 */
public class Probe {
    static final int HEAD = 80; // characters of a value or output kept for messages
    static final Capture OUT = new Capture(1 << 16);

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

    public static void main(String[] args) throws IOException {
        List<String> lines = new ArrayList<>(Arrays.asList(
                new String(System.in.readAllBytes(), StandardCharsets.UTF_8).split("\n")));
        String nonce = lines.remove(0);
        PrintStream report = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(new PrintStream(OUT, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new Capture(1 << 12), true, StandardCharsets.UTF_8));
        for (String line : lines) {
            if (!line.isEmpty()) {
                probe(line.split("\t", -1), nonce, report);
            }
        }
        report.flush();
        Runtime.getRuntime().halt(0);
    }

    static void say(PrintStream report, String nonce, String id, String... fields) {
        StringBuilder line = new StringBuilder(nonce).append('\t').append(id);
        for (String field : fields) {
            line.append('\t').append(field.replace('\t', ' ').replace('\n', ' ').replace('\r', ' '));
        }
        report.println(line);
        report.flush();
    }

    static void probe(String[] item, String nonce, PrintStream report) {
        String id = item[0], kind = item[1], methodName = item[3], parameters = item[4], fieldName = item[5];
        Class<?> type;
        Method method;
        Field field = null;
        Constructor<?> make;
        try {
            type = Class.forName(item[2], false, Probe.class.getClassLoader());
            method = find(type, methodName, parameters);
            if (method == null) {
                say(report, nonce, id, "no_method", Arrays.stream(type.getDeclaredMethods()).map(Probe::describe).toList().toString());
                return;
            }
            if (!kind.equals("call")) {
                try {
                    field = type.getDeclaredField(fieldName);
                    field.setAccessible(true);
                } catch (NoSuchFieldException e) {
                    field = null;
                }
            }
            method.setAccessible(true);
            make = type.getDeclaredConstructor();
            make.setAccessible(true);
        } catch (Throwable e) {
            say(report, nonce, id, "not_loadable", head(e.toString()));
            return;
        }
        say(report, nonce, id, "signature", method.getReturnType().getTypeName(), typeNames(method.getParameterTypes()),
                field == null ? "-" : field.getType().getTypeName(),
                field == null ? "-" : Modifier.isStatic(field.getModifiers()) ? "1" : "0");
        if (!kind.equals("call") && field == null) {
            return;
        }
        // A getter's input is the value its field holds.
        Class<?>[] types = kind.equals("getter") ? new Class<?>[] {field.getType()} : method.getParameterTypes();
        say(report, nonce, id, "start");
        String[] cases = item[6].equals("0") ? new String[0] : item[7].split("\\|", -1);
        for (int k = 0; k < cases.length; k++) {
            say(report, nonce, id, call(kind, make, method, field, decodeAll(cases[k], types), k));
        }
        say(report, nonce, id, "done");
    }

    static Method find(Class<?> type, String name, String parameters) {
        for (Method method : type.getDeclaredMethods()) {
            if (method.getName().equals(name)
                    && (parameters.equals("*") || typeNames(method.getParameterTypes()).equals(parameters))) {
                return method;
            }
        }
        return null;
    }

    static String[] call(String kind, Constructor<?> make, Method method, Field field, Object[] arguments, int k) {
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
            String rendered = render(value), printed = OUT.take();
            return new String[] {"case", Integer.toString(k), "value", sha(rendered), head(rendered), sha(printed), head(printed)};
        } catch (Throwable e) {
            Throwable cause = e;
            while ((cause instanceof InvocationTargetException || cause instanceof ExceptionInInitializerError)
                    && cause.getCause() != null) {
                cause = cause.getCause();
            }
            OUT.take();
            String what = cause instanceof OutOfMemoryError ? "out_of_memory" : "exception";
            String message;
            try {
                message = cause.toString();
            } catch (Throwable broken) { // a thrown object of the method's own class
                message = cause.getClass().getName();
            }
            return new String[] {"case", Integer.toString(k), "thrown", what, head(message)};
        }
    }

    static String typeNames(Class<?>[] types) {
        return String.join(",", Arrays.stream(types).map(Class::getTypeName).toList());
    }

    static String describe(Method method) {
        return method.getReturnType().getSimpleName() + " " + method.getName() + "("
                + String.join(", ", Arrays.stream(method.getParameterTypes()).map(Class::getSimpleName).toList()) + ")";
    }

    static String sha(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return Base64.getEncoder().encodeToString(digest);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String head(String text) {
        String cut = text.length() > HEAD ? text.substring(0, HEAD) : text;
        return Base64.getEncoder().encodeToString(cut.getBytes(StandardCharsets.UTF_8));
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
}
